package store

import (
	"bytes"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestFlagChangeWritesWhatEncodeEntryWrites: a flag change rewrites the flags and modseq of an entry in place of
// decoding and encoding it again; the bytes must be those encodeEntry writes for the changed entry, for entries of
// both versions, with keywords and a trace, and for a modseq or flag bits whose varint grows or shrinks.
func TestFlagChangeWritesWhatEncodeEntryWrites(t *testing.T) {
	date := time.Date(1650, 3, 1, 9, 30, 0, 0, time.FixedZone("", 7*3600))
	entries := []entry{
		{flags: flagSet{bits: flagSeen}, date: time.Unix(1700000000, 0).UTC(), bodySize: 20480, modSeq: 127,
			body: BodyID{1, 2, 3}, place: bodyPlace{seq: 9, header: true, headerStart: 0, headerEnd: 812}},
		{flags: flagSet{keywords: []string{"$Label1", "Việc"}}, date: date, bodySize: 5, modSeq: 1 << 40,
			trace: []byte("Delivered-To: an@example.gov.vn\r\n")}, // version 1: no place
		{date: date, modSeq: 300, place: bodyPlace{seq: 1 << 33}},
	}
	changes := []flagSet{
		{},
		{bits: flagSeen | flagDeleted | flagDraft | 1<<9},
		{bits: flagFlagged, keywords: []string{"$Junk", "$Label1", "Một từ khoá rất dài"}},
	}
	for i, e := range entries {
		v := encodeEntry(&e)
		ef, err := readEntryFlags(v)
		if err != nil || ef.modSeq != e.modSeq || !ef.flags.equal(e.flags) {
			t.Fatalf("entry %d: read %+v, %v; want flags %+v modseq %d", i, ef, err, e.flags, e.modSeq)
		}
		for _, fs := range changes {
			for _, modSeq := range []uint64{1, 128, e.modSeq + 1, 1 << 62} {
				changed := e
				changed.flags, changed.modSeq = fs, modSeq
				want := encodeEntry(&changed)
				if got := ef.appendWithFlags(nil, v, fs, modSeq); !bytes.Equal(got, want) {
					t.Errorf("entry %d with flags %+v, modseq %d:\n got %x\nwant %x", i, fs, modSeq, got, want)
				}
			}
		}
	}
}

// TestFlagChangeRefusesWhatDecodeRefuses: the rewrite reads the whole entry, so a damaged one fails the STORE as
// decoding it did, instead of being copied on.
func TestFlagChangeRefusesWhatDecodeRefuses(t *testing.T) {
	e := entry{flags: flagSet{bits: flagSeen, keywords: []string{"$Label1"}}, date: time.Unix(1700000000, 0),
		bodySize: 20480, modSeq: 5, trace: []byte("X: y\r\n"), place: bodyPlace{seq: 9, header: true, headerEnd: 80}}
	v := encodeEntry(&e)
	damaged := [][]byte{{3}, append([]byte{7}, v[1:]...)}
	for n := range len(v) {
		damaged = append(damaged, v[:n])
	}
	for _, d := range damaged {
		_, readErr := readEntryFlags(d)
		decodeErr := decodeEntryView(d, &entry{})
		if (readErr == nil) != (decodeErr == nil) {
			t.Errorf("entry %x: readEntryFlags says %v, decodeEntryView %v", d, readErr, decodeErr)
		}
	}
}

// TestSetFlagsWithUIDsOutOfOrderAndTwice: UIDs in any order, some twice, change each message once and come back
// ascending (the store's Check, run at the end, verifies the unseen and deleted counters).
func TestSetFlagsWithUIDsOutOfOrderAndTwice(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	for i := range 5 {
		if _, err := s.Append(inbox.ID, testMessage(i), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	before := mustMailbox(t, s, a, "INBOX").HighestModSeq
	res, err := s.SetFlags(inbox.ID, []uint32{4, 2, 4, 99, 2}, FlagsAdd, []string{`\Seen`, `\Deleted`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []FlagChange{{UID: 2, Flags: []string{`\Seen`, `\Deleted`}, ModSeq: before + 1},
		{UID: 4, Flags: []string{`\Seen`, `\Deleted`}, ModSeq: before + 2}}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("SetFlags = %+v, want %+v", res, want)
	}
	if mb := mustMailbox(t, s, a, "INBOX"); mb.Unseen != 3 || mb.Deleted != 2 || mb.HighestModSeq != before+2 {
		t.Errorf("mailbox after: unseen %d, deleted %d, highest modseq %d; want 3, 2, %d", mb.Unseen, mb.Deleted,
			mb.HighestModSeq, before+2)
	}
}

// TestSetFlagsOfAWholeMailboxAllocatesLittle: STORE 1:* on a large mailbox reads and rewrites every entry; each
// one decoded into a new entry, with its trace copied and a time zone made, and encoded into a new value, cost
// some twelve allocations per message, most of the command's garbage. What is left is bbolt's own (the key each put
// copies, the cursor it makes) and the leaves the commit writes. No indexer runs: its allocations would count.
func TestSetFlagsOfAWholeMailboxAllocatesLittle(t *testing.T) {
	s := newTestStoreWith(t, Options{NoSync: true, NoIndexer: true})
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	const messages = 2000
	batch := make([]AppendMessage, messages)
	uids := make([]uint32, messages)
	for i := range batch {
		batch[i].NewMessage = testMessage(i)
		batch[i].InternalDate = time.Date(2026, 1, 1, 8, i%60, 0, 0, time.FixedZone("", 7*3600))
		uids[i] = uint32(i + 1)
	}
	if _, err := s.AppendMany(inbox.ID, batch, nil); err != nil {
		t.Fatal(err)
	}
	ops := []FlagOp{FlagsAdd, FlagsRemove}
	run := 0
	allocs := testing.AllocsPerRun(4, func() {
		res, err := s.SetFlags(inbox.ID, uids, ops[run%2], []string{`\Seen`}, nil)
		if err != nil || len(res) != messages {
			t.Fatalf("SetFlags: %d results, %v", len(res), err)
		}
		run++
	})
	if perMessage := allocs / messages; perMessage > 5 {
		t.Errorf("%.1f allocations per message, want at most 5", perMessage)
	}
	checkEntriesDecode(t, s, inbox.ID, uids)
}

// checkEntriesDecode decodes every entry of uids.
func checkEntriesDecode(t *testing.T, s *Store, mailboxID uint64, uids []uint32) {
	t.Helper()
	err := s.view(func(tx *bolt.Tx) error {
		b, err := messagesBucket(tx, mailboxID)
		if err != nil {
			return err
		}
		return eachEntry(b, uids, func(uint32, *entry) error { return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkSetFlags10k toggles \Seen on every message of a 10,000-message mailbox: the store's part of STORE 1:*.
func BenchmarkSetFlags10k(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "mail.db"), Options{NoSync: true, NoIndexer: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	a := mustAccount(b, s, "an@example.gov.vn")
	inbox, err := s.Mailbox(a.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	const messages = 10_000
	batch := make([]AppendMessage, messages)
	uids := make([]uint32, messages)
	for i := range batch {
		batch[i].NewMessage = testMessage(i)
		uids[i] = uint32(i + 1)
	}
	if _, err := s.AppendMany(inbox.ID, batch, nil); err != nil {
		b.Fatal(err)
	}
	ops := []FlagOp{FlagsAdd, FlagsRemove}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := s.SetFlags(inbox.ID, uids, ops[i%2], []string{`\Seen`}, nil); err != nil {
			b.Fatal(err)
		}
	}
}
