package store

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestAccountGetsDefaultMailboxes(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	boxes, err := s.Mailboxes(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range boxes {
		got[m.Name] = m.SpecialUse
		if m.UIDNext != 1 || m.UIDValidity == 0 || !m.Subscribed {
			t.Errorf("%s: UIDNext %d UIDValidity %d subscribed %v", m.Name, m.UIDNext, m.UIDValidity, m.Subscribed)
		}
	}
	want := map[string]string{"INBOX": "", "Drafts": `\Drafts`, "Sent": `\Sent`, "Trash": `\Trash`, "Junk": `\Junk`, "Archive": `\Archive`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mailboxes %v, want %v", got, want)
	}
}

func TestDirectoryErrors(t *testing.T) {
	s := newTestStore(t)
	if _, err := s.AddAccount(Account{Address: "x@nowhere.vn"}); !errors.Is(err, ErrDomainNotFound) {
		t.Errorf("account in unknown domain: %v", err)
	}
	mustAccount(t, s, "an@example.gov.vn")
	if _, err := s.AddAccount(Account{Address: "AN@example.gov.vn"}); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate account: %v", err)
	}
	if err := s.AddDomain("example.gov.vn"); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate domain: %v", err)
	}
	if err := s.RemoveDomain("example.gov.vn"); !errors.Is(err, ErrDomainInUse) {
		t.Errorf("remove domain in use: %v", err)
	}
	if err := s.RemoveAccount("an@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveDomain("example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Account("an@example.gov.vn"); !errors.Is(err, ErrAccountNotFound) {
		t.Errorf("removed account: %v", err)
	}
}

func TestDeliverStoresBodyOnceAndReadsBack(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	b := mustAccount(t, s, "binh@example.gov.vn")
	big := bytes.Repeat([]byte("0123456789abcdef"), ChunkSize/16*3+7) // spans four chunks
	msg := NewMessage{Body: append([]byte("Subject: x\r\n\r\n"), big...), Meta: []byte{1, 2, 3}, Text: []byte("x")}
	placed, err := s.Deliver(msg, []Copy{
		{AccountID: a.ID, Trace: []byte("Delivered-To: an@example.gov.vn\r\n")},
		{AccountID: b.ID, Trace: []byte("Delivered-To: binh@example.gov.vn\r\n"), Flags: []string{`\Flagged`}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range placed {
		if p.UID != 1 {
			t.Fatalf("placed %+v", p)
		}
	}
	msgs, err := s.Messages(placed[1].MailboxID, []uint32{1}, FetchOptions{Meta: true, Text: true})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages %v %v", msgs, err)
	}
	m := msgs[0]
	if !reflect.DeepEqual(m.Flags, []string{`\Flagged`}) || !bytes.Equal(m.Meta, msg.Meta) || string(m.Text) != "x" {
		t.Errorf("message %+v", m)
	}
	if m.Size != int64(len(m.Trace)+len(msg.Body)) {
		t.Errorf("size %d", m.Size)
	}
	got, err := io.ReadAll(io.NewSectionReader(s.Body(m.Body, m.BodySize), 0, m.BodySize))
	if err != nil || !bytes.Equal(got, msg.Body) {
		t.Fatalf("body differs (err %v, %d vs %d bytes)", err, len(got), len(msg.Body))
	}
	part := make([]byte, 100)
	if _, err := s.Body(m.Body, m.BodySize).ReadAt(part, ChunkSize-50); err != nil || !bytes.Equal(part, msg.Body[ChunkSize-50:ChunkSize+50]) {
		t.Fatalf("read across a chunk boundary: %v", err)
	}
	var bodies int
	_ = s.view(func(tx *bolt.Tx) error { bodies = tx.Bucket(bucketBodies).Stats().KeyN; return nil })
	if bodies != 1 {
		t.Errorf("%d bodies stored, want 1", bodies)
	}
	acct, _ := s.Account("an@example.gov.vn")
	if acct.Used != int64(len("Delivered-To: an@example.gov.vn\r\n")+len(msg.Body)) {
		t.Errorf("used %d", acct.Used)
	}
}

func TestQuotaIsSoftOnDeliveryAndHardOnAppend(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	b := mustAccount(t, s, "binh@example.gov.vn")
	if _, err := s.UpdateAccount(b.Address, func(acc *Account) error { acc.Quota = 10; return nil }); err != nil {
		t.Fatal(err)
	}
	// The protocol layer accepted both recipients, so both copies are stored, even past binh's quota.
	if _, err := s.Deliver(testMessage(1), []Copy{{AccountID: a.ID}, {AccountID: b.ID}}); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	if acct, _ := s.Account(b.Address); acct.Used <= acct.Quota {
		t.Errorf("binh used %d of %d", acct.Used, acct.Quota)
	}
	inbox := mustMailbox(t, s, b, "INBOX")
	if _, err := s.Append(inbox.ID, testMessage(2), nil, nil); !errors.Is(err, ErrOverQuota) {
		t.Errorf("append over quota: %v", err)
	}
}

func TestDeliverToRemovedAccountStoresNothing(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	b := mustAccount(t, s, "binh@example.gov.vn")
	if err := s.RemoveAccount(b.Address); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver(testMessage(1), []Copy{{AccountID: a.ID}, {AccountID: b.ID}}); !errors.Is(err, ErrAccountNotFound) {
		t.Fatalf("deliver: %v", err)
	}
	if m := mustMailbox(t, s, a, "INBOX"); m.Messages != 0 {
		t.Errorf("a copy was stored although the delivery failed: %+v", m)
	}
}

func TestFlagsExpungeAndCounters(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	for i := 0; i < 5; i++ {
		if _, err := s.Append(inbox.ID, testMessage(i), []string{`\seen`, "$Label1"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.SetFlags(inbox.ID, []uint32{2, 3, 99}, FlagsAdd, []string{`\Deleted`}, nil)
	if err != nil || len(res) != 2 {
		t.Fatalf("set flags %v %v", res, err)
	}
	if want := []string{`\Seen`, `\Deleted`, "$Label1"}; !reflect.DeepEqual(res[0].Flags, want) {
		t.Errorf("flags %v, want %v", res[0].Flags, want)
	}
	if _, err := s.SetFlags(inbox.ID, []uint32{4}, FlagsRemove, []string{`\Seen`, "$label1"}, nil); err != nil {
		t.Fatal(err)
	}
	mb := mustMailbox(t, s, a, "INBOX")
	if mb.Messages != 5 || mb.Unseen != 1 || mb.Deleted != 2 || !reflect.DeepEqual(mb.Keywords, []string{"$Label1"}) {
		t.Errorf("counters %+v", mb)
	}
	removed, err := s.Expunge(inbox.ID, nil, nil)
	if err != nil || !reflect.DeepEqual(removed, []uint32{2, 3}) {
		t.Fatalf("expunge %v %v", removed, err)
	}
	uids, _ := s.UIDs(inbox.ID)
	if !reflect.DeepEqual(uids, []uint32{1, 4, 5}) {
		t.Errorf("uids %v", uids)
	}
	if mb := mustMailbox(t, s, a, "INBOX"); mb.UIDNext != 6 || mb.Messages != 3 {
		t.Errorf("after expunge %+v", mb)
	}
}

func TestCopyMoveShareBodies(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox, archive := mustMailbox(t, s, a, "INBOX"), mustMailbox(t, s, a, "Archive")
	for i := 0; i < 3; i++ {
		if _, err := s.Append(inbox.ID, testMessage(i), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	cp, err := s.Copy(inbox.ID, []uint32{1, 2}, archive.ID, nil)
	if err != nil || !reflect.DeepEqual(cp.Dest, []uint32{1, 2}) || cp.UIDValidity != archive.UIDValidity {
		t.Fatalf("copy %+v %v", cp, err)
	}
	mv, err := s.Move(inbox.ID, []uint32{2, 3}, archive.ID, nil)
	if err != nil || !reflect.DeepEqual(mv.Source, []uint32{2, 3}) || !reflect.DeepEqual(mv.Dest, []uint32{3, 4}) {
		t.Fatalf("move %+v %v", mv, err)
	}
	if uids, _ := s.UIDs(inbox.ID); !reflect.DeepEqual(uids, []uint32{1}) {
		t.Errorf("inbox uids %v", uids)
	}
	// Into the mailbox itself, a message gets a new UID; the counters stay those of one message.
	self, err := s.Move(inbox.ID, []uint32{1}, inbox.ID, nil)
	if err != nil || !reflect.DeepEqual(self.Source, []uint32{1}) || !reflect.DeepEqual(self.Dest, []uint32{4}) {
		t.Fatalf("move into the same mailbox: %+v %v", self, err)
	}
	if _, err := s.Copy(inbox.ID, []uint32{4}, inbox.ID, nil); err != nil {
		t.Fatalf("copy into the same mailbox: %v", err)
	}
	if uids, _ := s.UIDs(inbox.ID); !reflect.DeepEqual(uids, []uint32{4, 5}) {
		t.Errorf("inbox uids after moving and copying into itself %v", uids)
	}
	if m := mustMailbox(t, s, a, "INBOX"); m.Messages != 2 || m.Unseen != 2 || m.UIDNext != 6 {
		t.Errorf("inbox counters after moving and copying into itself: %+v", m)
	}
}

func TestMailboxTreeOperations(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	if _, err := s.CreateMailbox(a.ID, "Phòng/2026/Báo cáo", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateMailbox(a.ID, "phòng", ""); err != nil {
		t.Errorf("names are case-sensitive except INBOX: %v", err)
	}
	if _, err := s.CreateMailbox(a.ID, "inbox", ""); !errors.Is(err, ErrMailboxExists) {
		t.Errorf("create inbox: %v", err)
	}
	for _, bad := range []string{"", "a//b", "/a", "a/", "x*"} {
		if _, err := s.CreateMailbox(a.ID, bad, ""); !errors.Is(err, ErrInvalidName) {
			t.Errorf("create %q: %v", bad, err)
		}
	}
	sub := mustMailbox(t, s, a, "Phòng/2026/Báo cáo")
	if _, err := s.Append(sub.ID, testMessage(1), nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameMailbox(a.ID, "Phòng", "Lưu trữ/Phòng"); err != nil {
		t.Fatal(err)
	}
	moved := mustMailbox(t, s, a, "Lưu trữ/Phòng/2026/Báo cáo")
	if moved.ID != sub.ID || moved.Messages != 1 {
		t.Errorf("renamed child %+v", moved)
	}
	if err := s.DeleteMailbox(a.ID, "Lưu trữ/Phòng"); err != nil {
		t.Fatal(err)
	}
	if m := mustMailbox(t, s, a, "Lưu trữ/Phòng"); !m.NoSelect {
		t.Errorf("parent with children should stay as \\Noselect: %+v", m)
	}
	if err := s.DeleteMailbox(a.ID, "Lưu trữ/Phòng"); !errors.Is(err, ErrHasChildren) {
		t.Errorf("delete noselect parent: %v", err)
	}
	if err := s.DeleteMailbox(a.ID, "INBOX"); !errors.Is(err, ErrProtected) {
		t.Errorf("delete INBOX: %v", err)
	}
	if _, err := s.CreateMailbox(a.ID, "Lưu trữ/Phòng", ""); err != nil {
		t.Errorf("re-create a \\Noselect placeholder: %v", err)
	}
}

func TestRenameInboxLeavesEmptyInbox(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	if _, err := s.Append(inbox.ID, testMessage(1), nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameMailbox(a.ID, "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	old, fresh := mustMailbox(t, s, a, "Old"), mustMailbox(t, s, a, "INBOX")
	if old.Messages != 1 || fresh.Messages != 0 || fresh.UIDValidity <= inbox.UIDValidity-1 || fresh.ID == inbox.ID {
		t.Errorf("old %+v new %+v", old, fresh)
	}
}

func TestRecreatedMailboxGetsNewUIDValidity(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	first, _ := s.CreateMailbox(a.ID, "X", "")
	if err := s.DeleteMailbox(a.ID, "X"); err != nil {
		t.Fatal(err)
	}
	second, _ := s.CreateMailbox(a.ID, "X", "")
	if second.UIDValidity <= first.UIDValidity {
		t.Errorf("uidvalidity %d then %d", first.UIDValidity, second.UIDValidity)
	}
}

func TestRemoveAccountFreesBodies(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	b := mustAccount(t, s, "binh@example.gov.vn")
	if _, err := s.Deliver(testMessage(1), []Copy{{AccountID: a.ID}, {AccountID: b.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver(testMessage(2), []Copy{{AccountID: a.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveAccount(a.Address); err != nil {
		t.Fatal(err)
	}
	sweepNow(t, s) // the released body's chunks go in the background
	var bodies, chunks int
	_ = s.view(func(tx *bolt.Tx) error {
		bodies, chunks = tx.Bucket(bucketBodies).Stats().KeyN, tx.Bucket(bucketChunks).Stats().KeyN
		return nil
	})
	if bodies != 1 || chunks != 1 {
		t.Errorf("%d bodies, %d chunks left; want the one binh still holds", bodies, chunks)
	}
}

// recorder is a subscriber that keeps the UIDs announced as appended.
type recorder struct {
	mu   sync.Mutex
	uids []uint32
}

func (r *recorder) notify(c Change) {
	r.mu.Lock()
	r.uids = append(r.uids, c.Appended...)
	r.mu.Unlock()
}

func (r *recorder) seen() []uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.uids)
}

// Every subscriber sees every change, in commit order, however many commit at once; one that cancels sees no more
// while the others go on.
func TestSubscribersSeeChangesInCommitOrder(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	var first, second recorder
	cancelFirst := s.Subscribe(first.notify)
	defer s.Subscribe(second.notify)()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, err := s.Append(inbox.ID, testMessage(i), nil, "origin"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var want []uint32
	for uid := range uint32(20) {
		want = append(want, uid+1)
	}
	for name, r := range map[string]*recorder{"first": &first, "second": &second} {
		if got := r.seen(); !slices.Equal(got, want) {
			t.Fatalf("%s subscriber was told %v, want %v", name, got, want)
		}
	}

	cancelFirst()
	cancelFirst() // harmless
	if _, err := s.Append(inbox.ID, testMessage(20), nil, "origin"); err != nil {
		t.Fatal(err)
	}
	if got := first.seen(); len(got) != 20 {
		t.Errorf("the cancelled subscriber was told %v", got)
	}
	if got := second.seen(); len(got) != 21 || got[20] != 21 {
		t.Errorf("the remaining subscriber was told %v, want UID 21 last", got)
	}
}

func TestReopenKeepsDataAndRefusesSecondOpener(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddDomain("example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{LockTimeout: 50 * 1e6}); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("second open: %v", err)
	}
	s.Close()
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ok, _ := s.HasDomain("EXAMPLE.gov.vn"); !ok {
		t.Error("domain lost across reopen")
	}
}

func TestInternalDateKeepsZoneAndFarDates(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	hanoi := time.FixedZone("", 7*3600)
	for _, date := range []time.Time{
		time.Date(2026, 11, 26, 9, 30, 0, 0, hanoi),
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2500, 12, 31, 23, 59, 59, 0, hanoi),
	} {
		msg := testMessage(1)
		msg.InternalDate = date
		p, err := s.Append(inbox.ID, msg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Messages(inbox.ID, []uint32{p.UID}, FetchOptions{})
		if err != nil || len(got) != 1 {
			t.Fatal(err)
		}
		_, wantOff := date.Zone()
		_, gotOff := got[0].InternalDate.Zone()
		if !got[0].InternalDate.Equal(date) || gotOff != wantOff {
			t.Errorf("stored %v, read back %v", date, got[0].InternalDate)
		}
	}
}

func TestSubscriptionsOutliveMailboxes(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	if _, err := s.CreateMailbox(a.ID, "Dự án/2026", ""); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Dự án", "Dự án/2026"} { // CREATE subscribes nothing
		if err := s.SetSubscribed(a.ID, name, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RenameMailbox(a.ID, "Dự án", "Lưu trữ"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMailbox(a.ID, "Lưu trữ/2026"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSubscribed(a.ID, "Chưa tạo", true); err != nil {
		t.Fatalf("subscribe to a name with no mailbox: %v", err)
	}
	if err := s.SetSubscribed(a.ID, "Junk", false); err != nil {
		t.Fatal(err)
	}
	subs, err := s.Subscriptions(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Archive", "Chưa tạo", "Drafts", "INBOX", "Lưu trữ", "Lưu trữ/2026", "Sent", "Trash"}
	if !reflect.DeepEqual(subs, want) {
		t.Errorf("subscriptions %q, want %q", subs, want)
	}
	if m := mustMailbox(t, s, a, "Junk"); m.Subscribed {
		t.Error("Junk still reads as subscribed")
	}
	if err := s.RemoveAccount(a.Address); err != nil {
		t.Fatal(err)
	}
	if subs, _ := s.Subscriptions(a.ID); len(subs) != 0 {
		t.Errorf("subscriptions left after the account was removed: %q", subs)
	}
}

func TestPinnedBodySurvivesExpungeUntilReleased(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	big := NewMessage{Body: bytes.Repeat([]byte("Báo cáo\r\n"), ChunkSize/5)}
	p, err := s.Append(inbox.ID, big, []string{`\Deleted`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := s.Messages(inbox.ID, []uint32{p.UID}, FetchOptions{})
	m := msgs[0]
	present, release := s.PinBodies([]BodyID{m.Body})
	if !present[0] {
		t.Fatal("a stored body reads as absent")
	}
	if _, err := s.Expunge(inbox.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	sweepNow(t, s) // sweeps unpinned bodies only
	got, err := io.ReadAll(io.NewSectionReader(s.Body(m.Body, m.BodySize), 0, m.BodySize))
	if err != nil || !bytes.Equal(got, big.Body) {
		t.Fatalf("pinned body unreadable after expunge: %v", err)
	}
	release()
	if present, release := s.PinBodies([]BodyID{m.Body}); present[0] {
		t.Error("an expunged body reads as present")
	} else {
		release()
	}
	sweepNow(t, s)
	var chunks int
	_ = s.view(func(tx *bolt.Tx) error { chunks = tx.Bucket(bucketChunks).Stats().KeyN; return nil })
	if chunks != 0 {
		t.Errorf("%d chunks left after the pin was released", chunks)
	}
}

// The same bytes stored again while their released copy is still pinned (a FETCH streaming it) keep their chunks:
// the pending sweep of the released copy must not delete what the new message owns.
func TestBodyStoredAgainWhilePinnedKeepsItsChunks(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	msg := testMessage(1)
	msg.Body = bytes.Repeat([]byte("Dự thảo công văn.\r\n"), 3*ChunkSize/20) // several chunks
	p, err := s.Append(inbox.ID, msg, []string{`\Deleted`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := s.Messages(inbox.ID, []uint32{p.UID}, FetchOptions{})
	_, release := s.PinBodies([]BodyID{ms[0].Body}) // a FETCH of it in progress
	if _, err := s.Expunge(inbox.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	again, err := s.Append(inbox.ID, msg, nil, nil) // the draft saved again, unchanged
	if err != nil {
		t.Fatal(err)
	}
	release()
	sweepNow(t, s)
	ms, _ = s.Messages(inbox.ID, []uint32{again.UID}, FetchOptions{})
	if len(ms) != 1 {
		t.Fatalf("message %d is gone", again.UID)
	}
	got, err := io.ReadAll(io.NewSectionReader(s.Body(ms[0].Body, ms[0].BodySize), 0, ms[0].BodySize))
	if err != nil || !bytes.Equal(got, msg.Body) {
		t.Fatalf("the message stored again lost its body: read %d of %d bytes: %v", len(got), len(msg.Body), err)
	}
}

// TestRecentMark: a read-write SELECT claims the messages above the mailbox's RecentUID and raises it, so the next
// one claims nothing; RaiseRecentUID only raises; a mailbox record written before RecentUID existed reads
// as 0.
func TestRecentMark(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	for i := 0; i < 3; i++ {
		if _, err := s.Append(inbox.ID, testMessage(i), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	claim := func() RecentClaim {
		c, err := s.ClaimRecent(inbox.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if first, second := claim(), claim(); first != (RecentClaim{0, 3}) || second != (RecentClaim{3, 3}) {
		t.Errorf("claims of two SELECTs: %+v, %+v; want (0, 3], then nothing", first, second)
	}
	if n, err := s.CountUIDsAbove(inbox.ID, 1); err != nil || n != 2 {
		t.Errorf("CountUIDsAbove(1) = %d, %v", n, err)
	}
	if err := s.RaiseRecentUID(inbox.ID, 2); err != nil {
		t.Fatal(err)
	}
	if m := mustMailbox(t, s, a, "INBOX"); m.RecentUID != 3 {
		t.Errorf("RecentUID after raising to a lower mark: %d", m.RecentUID)
	}
}
