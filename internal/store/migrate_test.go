package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// testdata/bodies-schema1.db was written by the store of commit 7bdba7a (schema 1: chunks and search texts keyed
// by body id), then compacted. It holds, in example.gov.vn:
//
//	an@    INBOX uid 1 (body 1, 900 bytes, also in binh's INBOX), uid 2 (body 2, 150 KiB: three chunks),
//	       uid 3 (body 3, 2,000 bytes, also in binh's INBOX and queued as q3 for x@other.vn);
//	       uids 4 and 5 expunged, body 4 (70 KiB) while a reader had it pinned: its chunks wait in freed_bodies
//	binh@  INBOX uid 1 (body 1), uid 2 (body 3)
//
// Body n is schema1Body(n, size), with meta "meta n" and search text "bao cao n noi dung".
const schema1Fixture = "testdata/bodies-schema1.db"

func schema1Body(n, size int) []byte {
	head := fmt.Sprintf("From: a@example.gov.vn\r\nSubject: =?UTF-8?Q?B=C3=A1o_c=C3=A1o?= %d\r\n\r\n", n)
	line := fmt.Sprintf("Nội dung của thư %d, dòng lặp lại để đủ cỡ.\r\n", n)
	var b bytes.Buffer
	b.WriteString(head)
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.Bytes()[:size]
}

// addSchema1ImportKeys writes two entries of an import index as schema 1 made them (folder id + 16 bytes of the
// key's SHA-256 → uid) into the fixture: one for an's uid 2, imported with key "key-2", and one for the expunged
// uid 4. It returns an's INBOX id.
func addSchema1ImportKeys(t *testing.T, path string) uint64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw := &Store{core: &core{db: db, now: time.Now, pins: map[BodyID]int{}}}
	an, err := raw.Account("an@example.gov.vn")
	if err != nil {
		t.Fatal(err)
	}
	inbox := mustMailbox(t, raw, an, "INBOX")
	err = db.Update(func(tx *bolt.Tx) error {
		for key, uid := range map[string]uint32{"key-2": 2, "key-4": 4} {
			sum := sha256.Sum256([]byte(key))
			if err := tx.Bucket(bucketImportKeys).Put(append(u64key(inbox.ID), sum[:16]...), u32key(uid)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return inbox.ID
}

func copyFixture(t *testing.T, name string) string {
	t.Helper()
	fixture, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mail.db")
	if err := os.WriteFile(path, fixture, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSchema1BodiesMoveToSequenceKeys(t *testing.T) {
	path := copyFixture(t, schema1Fixture)
	inboxID := addSchema1ImportKeys(t, path)
	if info, err := VerifyBackup(path); err != nil || info.Messages != 5 {
		t.Fatalf("a backup made by schema 1 must still verify: %+v, %v", info, err)
	}
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	assertSchema1Content(t, s)
	err = s.view(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{legacyChunks, legacyTexts, legacyFreed} {
			if tx.Bucket(name) != nil {
				t.Errorf("bucket %s still there after the migration", name)
			}
		}
		// Bodies 1, 2 and 3: 1 + 3 + 1 chunks. The released body 4's went with the legacy buckets.
		if n := tx.Bucket(bucketChunks).Stats().KeyN; n != 5 {
			t.Errorf("%d chunks after the migration, want 5", n)
		}
		d := decoder{b: tx.Bucket(bucketMeta).Get(keySchema)}
		if v := d.uint(); v != SchemaVersion {
			t.Errorf("schema %d after the migration, want %d", v, SchemaVersion)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The migrated store takes new mail after the moved bodies, including body 4's bytes again.
	an, err := s.Account("an@example.gov.vn")
	if err != nil {
		t.Fatal(err)
	}
	// The import index found its message's date: a re-run of that import recognises the message.
	again := []ImportMessage{{Folder: "INBOX", Key: []byte("key-2"),
		Message: NewMessage{Body: schema1Body(2, 150<<10), InternalDate: time.Unix(1700000002, 0)}}}
	if res, err := s.ImportBatch(an.ID, again, ImportOptions{}); err != nil || res[0].Outcome != Duplicate {
		t.Errorf("re-run of an import made before the migration: %+v, %v; want a duplicate", res, err)
	}
	_ = s.view(func(tx *bolt.Tx) error {
		var keys [][]byte
		_ = tx.Bucket(bucketImportKeys).ForEach(func(k, _ []byte) error { keys = append(keys, bytes.Clone(k)); return nil })
		if len(keys) != 1 || len(keys[0]) != importKeyLen || binary.BigEndian.Uint64(keys[0]) != inboxID {
			t.Errorf("import index after the migration: %x; want one key of the message still there", keys)
		}
		return nil
	})
	placed, err := s.Deliver(NewMessage{Body: schema1Body(4, 70<<10), Text: []byte("lai")}, []Copy{{AccountID: an.ID}})
	if err != nil {
		t.Fatal(err)
	}
	assertBody(t, s, placed[0].MailboxID, placed[0].UID, schema1Body(4, 70<<10))
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// A migration stopped between two of its transactions leaves a file that checks clean, and the next open
// finishes it.
func TestSchema1MigrationResumes(t *testing.T) {
	path := copyFixture(t, schema1Fixture)
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	half := &Store{core: &core{db: db, now: time.Now, pins: map[BodyID]int{}}}
	if move, err := half.upgradeSchema(); err != nil || !move {
		t.Fatalf("upgradeSchema = %v, %v; want bodies to move", move, err)
	}
	if moved, _, err := half.moveLegacyBatch(nil, 1); err != nil || moved != 1 {
		t.Fatalf("moveLegacyBatch = %d, %v", moved, err)
	}
	if err := half.Check(); err != nil {
		t.Fatalf("a half-migrated file must check clean: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyBackup(path); err != nil {
		t.Fatalf("a half-migrated file must verify: %v", err)
	}
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	assertSchema1Content(t, s)
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// assertSchema1Content reads back everything the fixture holds, byte for byte.
func assertSchema1Content(t *testing.T, s *Store) {
	t.Helper()
	sizes := map[int]int{1: 900, 2: 150 << 10, 3: 2000}
	for address, bodies := range map[string][]int{"an@example.gov.vn": {1, 2, 3}, "binh@example.gov.vn": {1, 3}} {
		a, err := s.Account(address)
		if err != nil {
			t.Fatal(err)
		}
		inbox := mustMailbox(t, s, a, "INBOX")
		uids := []uint32{1, 2, 3, 4, 5}
		msgs, err := s.Messages(inbox.ID, uids, FetchOptions{Meta: true, Text: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != len(bodies) {
			t.Fatalf("%s: %d messages, want %d", address, len(msgs), len(bodies))
		}
		for i, n := range bodies {
			m := msgs[i]
			if string(m.Meta) != fmt.Sprintf("meta %d", n) || string(m.Text) != fmt.Sprintf("bao cao %d noi dung", n) {
				t.Errorf("%s uid %d: meta %q, text %q", address, m.UID, m.Meta, m.Text)
			}
			assertBody(t, s, inbox.ID, m.UID, schema1Body(n, sizes[n]))
		}
	}
	queued, err := s.QueuedBody("q3")
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]byte("Received: by test\r\n"), schema1Body(3, 2000)...); !bytes.Equal(queued, want) {
		t.Errorf("queued body: %d bytes, differs from the %d stored", len(queued), len(want))
	}
}

func assertBody(t *testing.T, s *Store, mailboxID uint64, uid uint32, want []byte) {
	t.Helper()
	msgs, err := s.Messages(mailboxID, []uint32{uid}, FetchOptions{})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("uid %d: %v, %v", uid, msgs, err)
	}
	got, err := io.ReadAll(io.NewSectionReader(s.Body(msgs[0].Body, msgs[0].BodySize), 0, msgs[0].BodySize))
	if err != nil {
		t.Fatalf("uid %d: %v", uid, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("uid %d: body of %d bytes differs from the %d delivered", uid, len(got), len(want))
	}
}
