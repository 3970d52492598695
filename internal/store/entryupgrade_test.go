package store

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// downgradeEntries rewrites every entry of the mailboxes as version 1 (no body place), as a store written before
// entries recorded it has them, and forgets the upgrader's watermark. It returns the entries as they were.
func downgradeEntries(t *testing.T, s *Store, mailboxIDs ...uint64) map[uint64]map[uint32]entry {
	t.Helper()
	before := map[uint64]map[uint32]entry{}
	update(t, s, func(tx *bolt.Tx) error {
		for _, id := range mailboxIDs {
			msgs, err := messagesBucket(tx, id)
			if err != nil {
				return err
			}
			before[id] = map[uint32]entry{}
			var puts [][2][]byte
			if err := msgs.ForEach(func(k, v []byte) error {
				e, err := decodeEntry(v)
				if err != nil {
					return err
				}
				before[id][uidOf(k)] = *e
				e.place = bodyPlace{}
				puts = append(puts, [2][]byte{append([]byte(nil), k...), encodeEntry(e)})
				return nil
			}); err != nil {
				return err
			}
			for _, p := range puts {
				if p[1][0] != 1 {
					t.Fatalf("downgraded entry is of version %d", p[1][0])
				}
				if err := msgs.Put(p[0], p[1]); err != nil {
					return err
				}
			}
		}
		return tx.Bucket(bucketMeta).Delete(keyEntriesUpTo)
	})
	return before
}

// TestEntryUpgraderRecordsBodyPlaces: entries of version 1 in several mailboxes, more than a batch of them, are
// rewritten as version 2 with the place their body has, flags and modification sequences untouched; entries
// expunged meanwhile are not brought back, and a finished walk is not walked again.
func TestEntryUpgraderRecordsBodyPlaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.db")
	s := *copierTestStore(t, path)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	archive, err := s.CreateMailbox(a.ID, "Lưu trữ", "")
	if err != nil {
		t.Fatal(err)
	}
	appendHeaderTestMessages(t, s, inbox.ID, 0, upgradeBatchWrites+100)
	appendHeaderTestMessages(t, s, archive.ID, 1000, 50)
	if _, err := s.SetFlags(inbox.ID, []uint32{3}, FlagsAdd, []string{`\Seen`, "$Label1"}, nil); err != nil {
		t.Fatal(err)
	}
	before := downgradeEntries(t, s, inbox.ID, archive.ID)

	// The first batch is read, then a message is expunged before it is written.
	b, err := s.readEntryUpgradeBatch()
	if err != nil || b == nil || len(b.jobs) != upgradeBatchWrites {
		t.Fatalf("first batch: %v jobs, %v", b, err)
	}
	if _, err := s.SetFlags(inbox.ID, []uint32{7}, FlagsAdd, []string{`\Deleted`}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Expunge(inbox.ID, []uint32{7}, nil); err != nil {
		t.Fatal(err)
	}
	wrote, err := s.writeEntryUpgradeBatch(b)
	if err != nil || wrote != upgradeBatchWrites-1 {
		t.Fatalf("first batch wrote %d, %v; want %d", wrote, err, upgradeBatchWrites-1)
	}
	rest, err := s.UpgradeEntries()
	if err != nil || rest != 100+50 {
		t.Fatalf("the rest: %d, %v; want 150", rest, err)
	}
	if again, err := s.UpgradeEntries(); err != nil || again != 0 {
		t.Fatalf("a finished walk again: %d, %v", again, err)
	}
	_ = s.view(func(tx *bolt.Tx) error {
		for id, entries := range before {
			msgs, _ := messagesBucket(tx, id)
			for uid, old := range entries {
				v := msgs.Get(u32key(uid))
				if id == inbox.ID && uid == 7 {
					if v != nil {
						t.Errorf("uid 7 came back after its expunge")
					}
					continue
				}
				e, err := decodeEntry(v)
				if err != nil || v[0] != 2 {
					t.Fatalf("mailbox #%d uid %d: version %d, %v", id, uid, v[0], err)
				}
				if e.place != old.place || e.modSeq != old.modSeq || e.flags.bits != old.flags.bits ||
					len(e.flags.keywords) != len(old.flags.keywords) || e.body != old.body || !e.date.Equal(old.date) {
					t.Errorf("mailbox #%d uid %d: %+v, want %+v", id, uid, e, old)
				}
			}
		}
		return nil
	})
	if err := s.Check(); err != nil {
		t.Errorf("after the upgrade: %v", err)
	}
}

// TestEntryUpgraderRunsInTheBackground: a store with entries of version 1, opened as the server opens it, has them
// all rewritten without being asked.
func TestEntryUpgraderRunsInTheBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.db")
	ps := copierTestStore(t, path)
	inbox := mustMailbox(t, *ps, mustAccount(t, *ps, "an@example.gov.vn"), "INBOX")
	appendHeaderTestMessages(t, *ps, inbox.ID, 0, 20)
	downgradeEntries(t, *ps, inbox.ID)
	if err := (*ps).Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	*ps = s
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var walked bool
		var old int
		_ = s.view(func(tx *bolt.Tx) error {
			walked = bytes.Equal(tx.Bucket(bucketMeta).Get(keyEntriesUpTo), entriesWalked)
			msgs, _ := messagesBucket(tx, inbox.ID)
			return msgs.ForEach(func(_, v []byte) error {
				if v[0] == 1 {
					old++
				}
				return nil
			})
		})
		if walked && old == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s: walk finished %v, %d entries of version 1 left", walked, old)
		}
	}
}
