package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestBackupIsOneSnapshot takes a snapshot, delivers more while it is open, and writes it: the copy holds exactly
// the messages stored when the snapshot began, passes the check, and the live store kept taking mail.
func TestBackupIsOneSnapshot(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	for i := range 20 {
		mustDeliver(t, s, a, i)
	}
	sn, err := s.BeginBackup()
	if err != nil {
		t.Fatal(err)
	}
	for i := 20; i < 30; i++ { // a read transaction does not block writers
		mustDeliver(t, s, a, i)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := sn.WriteTo(f)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	sn.Close()
	if n != sn.Info().Size || sn.Info().Messages != 20 {
		t.Errorf("wrote %d bytes, info %+v; want the announced size and 20 messages", n, sn.Info())
	}
	info, err := VerifyBackup(path)
	if err != nil {
		t.Fatal(err)
	}
	if info != sn.Info() {
		t.Errorf("the copy holds %+v, the snapshot announced %+v", info, sn.Info())
	}
	if live := mustMailbox(t, s, a, "INBOX"); live.Messages != 30 {
		t.Errorf("live INBOX has %d messages, want 30", live.Messages)
	}
}

func mustDeliver(t testing.TB, s *Store, a Account, n int) {
	t.Helper()
	if _, err := s.Deliver(testMessage(n), []Copy{{AccountID: a.ID}}); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyBackupRefuses: a truncated copy, a file that is not a store, and a store of a newer schema are
// refused with a reason, never a crash.
func TestVerifyBackupRefuses(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	for i := range 50 {
		mustDeliver(t, s, a, i)
	}
	var good bytes.Buffer
	if _, err := s.Backup(&good); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newer := write("newer.db", good.Bytes())
	db, err := bolt.Open(newer, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		var e encoder
		e.uint(SchemaVersion + 1)
		return tx.Bucket(bucketMeta).Put(keySchema, e.b)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	garbage := bytes.Clone(good.Bytes())
	for i := 4 * 4096; i < len(garbage); i += 7 {
		garbage[i] ^= 0x5a
	}
	for name, c := range map[string]struct {
		path, want string
	}{
		"truncated": {write("half.db", good.Bytes()[:good.Len()/2]), "truncated"},
		"text":      {write("notes.txt", bytes.Repeat([]byte("không phải cơ sở dữ liệu\n"), 1000)), "open"},
		"damaged":   {write("damaged.db", garbage), ""},
		"newer":     {newer, "newer than this program's"},
	} {
		if _, err := VerifyBackup(c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: VerifyBackup: %v, want an error containing %q", name, err, c.want)
		}
	}
}

func TestNewUIDValiditiesKeepUIDNext(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	if _, err := s.CreateMailbox(a.ID, "Lưu trữ/2026", ""); err != nil {
		t.Fatal(err)
	}
	mustDeliver(t, s, a, 1)
	before, err := s.Mailboxes(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.NewUIDValidities()
	if err != nil || n != len(before) {
		t.Fatalf("NewUIDValidities: %d, %v; want %d", n, err, len(before))
	}
	after, err := s.Mailboxes(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	for i, m := range after {
		old := before[i]
		if m.UIDValidity <= old.UIDValidity || seen[m.UIDValidity] {
			t.Errorf("%s: UIDVALIDITY %d → %d, want a new larger, distinct value", m.Name, old.UIDValidity, m.UIDValidity)
		}
		seen[m.UIDValidity] = true
		if m.UIDNext != old.UIDNext || m.Messages != old.Messages {
			t.Errorf("%s: UIDNEXT %d → %d, messages %d → %d", m.Name, old.UIDNext, m.UIDNext, old.Messages, m.Messages)
		}
	}
}

func TestLastBackupNote(t *testing.T) {
	s := newTestStore(t)
	if _, ok, err := s.LastBackupNote(); ok || err != nil {
		t.Fatalf("a new store has a last backup: %v %v", ok, err)
	}
	want := LastBackup{Time: time.Unix(1765000000, 5), File: "/var/backups/mail-2026-12-07.db", Size: 1 << 30, Messages: 123456}
	if err := s.RecordBackup(want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.LastBackupNote()
	if !ok || err != nil || !got.Time.Equal(want.Time) || got.File != want.File || got.Size != want.Size || got.Messages != want.Messages {
		t.Errorf("LastBackupNote: %+v %v %v, want %+v", got, ok, err, want)
	}
}

// BenchmarkBackup measures Store.Backup on a store of 2,000 generated 20 KiB messages (about 60 MB on disk).
func BenchmarkBackup(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "mail.db"), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.AddDomain("example.gov.vn"); err != nil {
		b.Fatal(err)
	}
	a, err := s.AddAccount(Account{Address: "an@example.gov.vn"})
	if err != nil {
		b.Fatal(err)
	}
	filler := strings.Repeat("Nội dung báo cáo tháng mười hai, số liệu tổng hợp.\r\n", 20<<10/56)
	for i := range 2000 {
		msg := testMessage(i)
		msg.Body = fmt.Appendf(nil, "Subject: %d\r\n\r\n%s", i, filler)
		if _, err := s.Deliver(msg, []Copy{{AccountID: a.ID}}); err != nil {
			b.Fatal(err)
		}
	}
	var size int64
	b.ResetTimer()
	for b.Loop() {
		f, err := os.Create(filepath.Join(b.TempDir(), "copy.db"))
		if err != nil {
			b.Fatal(err)
		}
		info, err := s.Backup(f)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
		size = info.Size
	}
	b.SetBytes(size)
}

// TestDeliveryWritesIgnoreFreeSpace: a delivery writes the pages it changes, however much space mail deleted
// earlier left free. bbolt wrote its whole list of free pages at every commit, so the more free space, the more
// every delivery wrote; and while a backup holds its snapshot, nothing written can be reused: a 10 GB store with
// 250 MB free grew by 1 GB during one backup, and delivered six times slower than before.
func TestDeliveryWritesIgnoreFreeSpace(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	const deliveries = 50
	compact := writtenByDeliveries(t, s, a, deliveries)
	freeSpace(t, s, a, 32<<20)
	afterDeletes := writtenByDeliveries(t, s, a, deliveries)
	if afterDeletes > compact*3/2 {
		t.Errorf("%d deliveries wrote %d bytes, %d with 32 MiB of deleted mail", deliveries, compact, afterDeletes)
	}
}

// writtenByDeliveries delivers n messages while a snapshot is open and returns the bytes their commits wrote.
func writtenByDeliveries(t *testing.T, s *Store, a Account, n int) int64 {
	t.Helper()
	sn, err := s.BeginBackup()
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	before := s.db.Stats()
	for i := range n {
		mustDeliver(t, s, a, 1000+i)
	}
	after := s.db.Stats()
	return after.TxStats.GetPageAlloc() - before.TxStats.GetPageAlloc()
}

// freeSpace stores about size bytes of mail in a's INBOX and expunges it, leaving that much free space.
func freeSpace(t *testing.T, s *Store, a Account, size int) {
	t.Helper()
	inbox := mustMailbox(t, s, a, "INBOX")
	for i := range size >> 20 {
		big := NewMessage{Body: bytes.Repeat([]byte{byte(i)}, 1<<20)}
		if _, err := s.Append(inbox.ID, big, []string{`\Deleted`}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Expunge(inbox.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	mustDeliver(t, s, a, 0) // its transaction deletes the released chunks
}

// TestCloseWritesFreePageList: commits leave the list of free pages out (see Open), so a clean close writes it:
// the next open reads it instead of the whole file, and a program that keeps the list in the file finds it there
// and opens the store without writing to it first.
func TestCloseWritesFreePageList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	a := mustAccount(t, s, "an@example.gov.vn")
	mustDeliver(t, s, a, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	lastTx := func(opts *bolt.Options) int {
		db, err := bolt.Open(path, 0o600, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		tx, err := db.Begin(false)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		return tx.ID()
	}
	closed := lastTx(&bolt.Options{ReadOnly: true})
	if opened := lastTx(&bolt.Options{FreelistType: bolt.FreelistMapType}); opened != closed {
		t.Errorf("opening the closed store wrote to it first (transaction %d, then %d): the free page list was missing", closed, opened)
	}
}

// TestMappingRoomGrowsWithTheStore: a remap of the file waits until every read transaction has ended, so a
// delivery that needs one during a backup waits, with every other write and read, for the rest of the backup. What
// a backup lets the store grow by grows with the store (its copy takes longer), so the room mapped ahead must too:
// 1 GiB was not enough for a store of 10 GB, where one backup let the store grow by about that much.
func TestMappingRoomGrowsWithTheStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(10 << 30); err != nil { // sparse: no disk space used
		t.Fatal(err)
	}
	f.Close()
	if strconv.IntSize < 64 {
		// Where address space is scarce nothing is mapped ahead: bbolt's own growth applies.
		if got := initialMmapSize(path); got != 0 {
			t.Errorf("a 32-bit build maps %d bytes ahead, want none", got)
		}
		return
	}
	if got := int64(initialMmapSize(path)); got < 20<<30 {
		t.Errorf("a store of 10 GiB is mapped with %d bytes, want room for it to double", got)
	}
}
