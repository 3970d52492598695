package store

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"mailserver/internal/message"
)

// testdata/schema2.db was written by the store of commit 34e17f8 (schema 2, the release before the expunge log)
// with the program in testdata/mkschema2/main.go.txt, run from a worktree of that commit and followed by
// store.Compact. In example.gov.vn it holds an@ (INBOX, Drafts, Sent, Trash, Junk, Archive, "Dự án",
// "Dự án/2026", "Dự án/2026/Báo cáo", "Lưu trữ/Năm 2025" and "Lưu trữ/Cũ", renamed from "Cũ") and binh@ (INBOX,
// "Công việc" and the special folders). Messages 0-19 (schema2Body) were delivered to both INBOXes, sharing their
// bodies, with a Delivered-To trace each and varied flags and keywords in an's copy; 20-27 were appended to an's
// folders. Then: flag changes in both INBOXes, a copy of an's uids 8-10 into "Dự án", a move of binh's uids 11-12
// into "Công việc", expunges of an's uids 13-15 and binh's uid 20, and \Deleted left on an's uid 16. The messages
// are five threads (Message-ID, In-Reply-To, References) with Vietnamese subjects. schema2Mailboxes is what that
// program printed of the result.
const schema2Fixture = "testdata/schema2.db"

// schema2Body is message n of the fixture, as testdata/mkschema2/main.go.txt made it.
func schema2Body(n int) []byte {
	subjects := []string{"Báo cáo tháng", "Kế hoạch năm 2026", "Họp giao ban", "Công văn số", "Đề xuất kinh phí"}
	thread := n % 5
	var b strings.Builder
	fmt.Fprintf(&b, "From: =?UTF-8?Q?Nguy=E1=BB=85n_V=C4=83n_An?= <an@example.gov.vn>\r\n")
	fmt.Fprintf(&b, "To: binh@example.gov.vn\r\n")
	fmt.Fprintf(&b, "Date: %s\r\n", time.Date(2026, 1, 1+n, 8, 30, 0, 0, time.FixedZone("", 7*3600)).Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <m%d@example.gov.vn>\r\n", n)
	subject := subjects[thread]
	if n >= 5 {
		subject = "Re: " + subject
		parent := n - 5
		refs := []string{}
		for p := thread; p <= parent; p += 5 {
			refs = append(refs, fmt.Sprintf("<m%d@example.gov.vn>", p))
		}
		fmt.Fprintf(&b, "In-Reply-To: <m%d@example.gov.vn>\r\n", parent)
		fmt.Fprintf(&b, "References: %s\r\n", strings.Join(refs, " "))
	}
	fmt.Fprintf(&b, "Subject: %s %d\r\n", subject, n)
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	fmt.Fprintf(&b, "Nội dung thư số %d: xin gửi anh chị tài liệu.\r\n", n)
	return []byte(b.String())
}

type fixtureMailbox struct {
	account, name string
	uidValidity   uint32
	uidNext       uint32
	highestModSeq uint64
	messages      []fixtureMessage
}

type fixtureMessage struct {
	uid    uint32
	body   int // schema2Body(body)
	trace  string
	modSeq uint64
	flags  []string
}

var schema2Mailboxes = []fixtureMailbox{
	{"an@example.gov.vn", "Archive", 1796645898, 1, 0, []fixtureMessage{}},
	{"an@example.gov.vn", "Drafts", 1796645894, 1, 0, []fixtureMessage{}},
	{"an@example.gov.vn", "Dự án", 1796645905, 6, 5, []fixtureMessage{
		{1, 20, "", 1, []string{"\\Seen", "\\Answered"}},
		{2, 24, "", 2, []string{"\\Seen", "\\Answered", "\\Flagged"}},
		{3, 7, "Delivered-To: an@example.gov.vn\r\n", 3, []string{"$Important"}},
		{4, 8, "Delivered-To: an@example.gov.vn\r\n", 4, []string{"\\Seen"}},
		{5, 9, "Delivered-To: an@example.gov.vn\r\n", 5, []string{"\\Flagged", "congviec"}},
	}},
	{"an@example.gov.vn", "Dự án/2026", 1796645906, 3, 2, []fixtureMessage{
		{1, 21, "", 1, []string{"\\Answered", "\\Flagged", "$Important", "congviec"}},
		{2, 25, "", 2, []string{"\\Answered", "congviec"}},
	}},
	{"an@example.gov.vn", "Dự án/2026/Báo cáo", 1796645907, 3, 2, []fixtureMessage{
		{1, 22, "", 1, []string{"\\Seen", "\\Answered"}},
		{2, 26, "", 2, []string{"\\Seen", "\\Answered"}},
	}},
	{"an@example.gov.vn", "INBOX", 1796645893, 21, 27, []fixtureMessage{
		{1, 0, "Delivered-To: an@example.gov.vn\r\n", 21, []string{"\\Seen", "\\Answered", "\\Flagged", "$Important", "$Label1"}},
		{2, 1, "Delivered-To: an@example.gov.vn\r\n", 22, []string{"\\Answered", "$Label1", "congviec"}},
		{3, 2, "Delivered-To: an@example.gov.vn\r\n", 23, []string{"\\Seen", "\\Answered", "$Label1"}},
		{4, 3, "Delivered-To: an@example.gov.vn\r\n", 4, []string{"\\Flagged"}},
		{5, 4, "Delivered-To: an@example.gov.vn\r\n", 5, []string{"\\Seen"}},
		{6, 5, "Delivered-To: an@example.gov.vn\r\n", 6, []string{"congviec"}},
		{7, 6, "Delivered-To: an@example.gov.vn\r\n", 7, []string{"\\Seen", "\\Flagged"}},
		{8, 7, "Delivered-To: an@example.gov.vn\r\n", 8, []string{"$Important"}},
		{9, 8, "Delivered-To: an@example.gov.vn\r\n", 9, []string{"\\Seen"}},
		{10, 9, "Delivered-To: an@example.gov.vn\r\n", 10, []string{"\\Flagged", "congviec"}},
		{11, 10, "Delivered-To: an@example.gov.vn\r\n", 11, []string{"\\Seen"}},
		{12, 11, "Delivered-To: an@example.gov.vn\r\n", 12, []string{}},
		{16, 15, "Delivered-To: an@example.gov.vn\r\n", 27, []string{"\\Flagged", "\\Deleted"}},
		{17, 16, "Delivered-To: an@example.gov.vn\r\n", 17, []string{"\\Seen"}},
		{18, 17, "Delivered-To: an@example.gov.vn\r\n", 18, []string{"congviec"}},
		{19, 18, "Delivered-To: an@example.gov.vn\r\n", 19, []string{"\\Seen", "\\Flagged"}},
		{20, 19, "Delivered-To: an@example.gov.vn\r\n", 20, []string{}},
	}},
	{"an@example.gov.vn", "Junk", 1796645897, 1, 0, []fixtureMessage{}},
	{"an@example.gov.vn", "Lưu trữ", 1796645909, 1, 0, []fixtureMessage{}},
	{"an@example.gov.vn", "Lưu trữ/Cũ", 1796645908, 3, 2, []fixtureMessage{
		{1, 23, "", 1, []string{"\\Answered"}},
		{2, 27, "", 2, []string{"\\Answered", "\\Flagged"}},
	}},
	{"an@example.gov.vn", "Lưu trữ/Năm 2025", 1796645910, 1, 0, []fixtureMessage{}},
	{"an@example.gov.vn", "Sent", 1796645895, 1, 0, []fixtureMessage{}},
	{"an@example.gov.vn", "Trash", 1796645896, 1, 0, []fixtureMessage{}},
	{"binh@example.gov.vn", "Archive", 1796645904, 1, 0, []fixtureMessage{}},
	{"binh@example.gov.vn", "Công việc", 1796645911, 3, 2, []fixtureMessage{
		{1, 10, "Delivered-To: binh@example.gov.vn\r\n", 1, []string{}},
		{2, 11, "Delivered-To: binh@example.gov.vn\r\n", 2, []string{}},
	}},
	{"binh@example.gov.vn", "Drafts", 1796645900, 1, 0, []fixtureMessage{}},
	{"binh@example.gov.vn", "INBOX", 1796645899, 21, 25, []fixtureMessage{
		{1, 0, "Delivered-To: binh@example.gov.vn\r\n", 1, []string{}},
		{2, 1, "Delivered-To: binh@example.gov.vn\r\n", 2, []string{}},
		{3, 2, "Delivered-To: binh@example.gov.vn\r\n", 3, []string{}},
		{4, 3, "Delivered-To: binh@example.gov.vn\r\n", 21, []string{"\\Seen"}},
		{5, 4, "Delivered-To: binh@example.gov.vn\r\n", 22, []string{"\\Seen"}},
		{6, 5, "Delivered-To: binh@example.gov.vn\r\n", 23, []string{"\\Seen"}},
		{7, 6, "Delivered-To: binh@example.gov.vn\r\n", 24, []string{"\\Seen"}},
		{8, 7, "Delivered-To: binh@example.gov.vn\r\n", 8, []string{}},
		{9, 8, "Delivered-To: binh@example.gov.vn\r\n", 9, []string{}},
		{10, 9, "Delivered-To: binh@example.gov.vn\r\n", 10, []string{}},
		{13, 12, "Delivered-To: binh@example.gov.vn\r\n", 13, []string{}},
		{14, 13, "Delivered-To: binh@example.gov.vn\r\n", 14, []string{}},
		{15, 14, "Delivered-To: binh@example.gov.vn\r\n", 15, []string{}},
		{16, 15, "Delivered-To: binh@example.gov.vn\r\n", 16, []string{}},
		{17, 16, "Delivered-To: binh@example.gov.vn\r\n", 17, []string{}},
		{18, 17, "Delivered-To: binh@example.gov.vn\r\n", 18, []string{}},
		{19, 18, "Delivered-To: binh@example.gov.vn\r\n", 19, []string{}},
	}},
	{"binh@example.gov.vn", "Junk", 1796645903, 1, 0, []fixtureMessage{}},
	{"binh@example.gov.vn", "Sent", 1796645901, 1, 0, []fixtureMessage{}},
	{"binh@example.gov.vn", "Trash", 1796645902, 1, 0, []fixtureMessage{}},
}

func TestSchema2StoreMigratesToExpungeLogs(t *testing.T) {
	path := copyFixture(t, schema2Fixture)
	if info, err := VerifyBackup(path); err != nil || info.Messages != 47 {
		t.Fatalf("a backup made by schema 2 must still verify: %+v, %v", info, err)
	}
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatalf("after the migration: %v", err)
	}
	for _, want := range schema2Mailboxes {
		a, err := s.Account(want.account)
		if err != nil {
			t.Fatal(err)
		}
		mb := mustMailbox(t, s, a, want.name)
		if mb.UIDValidity != want.uidValidity || mb.UIDNext != want.uidNext ||
			mb.HighestModSeq != max(want.highestModSeq, 1) || mb.ExpungeLogFloor != mb.HighestModSeq {
			t.Errorf("%s %q: UIDVALIDITY %d UIDNEXT %d HIGHESTMODSEQ %d floor %d; want %d %d %d, floor = HIGHESTMODSEQ",
				want.account, want.name, mb.UIDValidity, mb.UIDNext, mb.HighestModSeq, mb.ExpungeLogFloor,
				want.uidValidity, want.uidNext, max(want.highestModSeq, 1))
		}
		assertFixtureMessages(t, s, mb, want.messages)
		assertSortRecordsBackfilled(t, s, mb)
	}
	assertChangesAfterSchema2Migration(t, s)
}

// assertFixtureMessages compares every message of mb with the fixture's: bytes, flags, keywords and modseq.
func assertFixtureMessages(t *testing.T, s *Store, mb Mailbox, want []fixtureMessage) {
	t.Helper()
	msgs, bodies := messagesWithBodies(t, s, mb)
	if len(msgs) != len(want) {
		t.Fatalf("%q: %d messages, want %d", mb.Name, len(msgs), len(want))
	}
	for i, m := range msgs {
		w, body := want[i], bodies[i]
		if m.UID != w.uid || string(m.Trace) != w.trace || string(body) != string(schema2Body(w.body)) ||
			m.ModSeq != w.modSeq || !slices.Equal(m.Flags, w.flags) {
			t.Errorf("%q uid %d: modseq %d flags %q trace %q, body equal %v; want uid %d modseq %d flags %q trace %q",
				mb.Name, m.UID, m.ModSeq, m.Flags, m.Trace, string(body) == string(schema2Body(w.body)),
				w.uid, w.modSeq, w.flags, w.trace)
		}
	}
}

// messagesWithBodies reads every message of mb and its bytes.
func messagesWithBodies(t *testing.T, s *Store, mb Mailbox) ([]Message, [][]byte) {
	t.Helper()
	uids, err := s.UIDs(mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Messages(mb.ID, uids, FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bodies := make([][]byte, len(msgs))
	for i, m := range msgs {
		bodies[i] = make([]byte, m.BodySize)
		if _, err := s.Body(m.Body, m.BodySize).ReadAt(bodies[i], 0); err != nil {
			t.Fatalf("%q uid %d: %v", mb.Name, m.UID, err)
		}
	}
	return msgs, bodies
}

// assertSortRecordsBackfilled checks that the migration gave every message of mb the sort record delivery would
// have stored with it today (threads' References included).
func assertSortRecordsBackfilled(t *testing.T, s *Store, mb Mailbox) {
	t.Helper()
	msgs, bodies := messagesWithBodies(t, s, mb)
	want := map[uint32][]byte{}
	var uids []uint32
	for i, m := range msgs {
		uids = append(uids, m.UID)
		want[m.UID] = message.NewSortRecord(message.Parse(bodies[i]).ToMeta(), bodies[i]).Encode()
	}
	seen := 0
	err := s.EachSortRecord(mb.ID, uids, func(item SortItem, record []byte) error {
		seen++
		if !bytes.Equal(record, want[item.UID]) {
			t.Errorf("%q uid %d: sort record %x, want %x", mb.Name, item.UID, record, want[item.UID])
		}
		return nil
	})
	if err != nil || seen != len(msgs) {
		t.Errorf("%q: %d sort records of %d messages, %v", mb.Name, seen, len(msgs), err)
	}
}

// assertChangesAfterSchema2Migration expunges from a migrated mailbox: the log starts at the migration, and
// asking from before it says the log is incomplete.
func assertChangesAfterSchema2Migration(t *testing.T, s *Store) {
	t.Helper()
	an, err := s.Account("an@example.gov.vn")
	if err != nil {
		t.Fatal(err)
	}
	inbox := mustMailbox(t, s, an, "INBOX")
	if _, err := s.Expunge(inbox.ID, nil, nil); err != nil { // uid 16 kept its \Deleted
		t.Fatal(err)
	}
	got, complete, err := s.Expunged(inbox.ID, inbox.HighestModSeq)
	if err != nil || !complete || !slices.Equal(got, []uint32{16}) {
		t.Errorf("Expunged since the migration = %v, %v, %v; want [16], complete", got, complete, err)
	}
	if _, complete, _ := s.Expunged(inbox.ID, inbox.HighestModSeq-1); complete {
		t.Error("the log claims to be complete from before the migration")
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
}
