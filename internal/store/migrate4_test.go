package store

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"mailserver/internal/message"
)

// testdata/schema3.db was written by the store of commit b31b437 (schema 3, the release before the search index)
// with the program in testdata/mkschema3/main.go.txt, run from a copy of that commit's tree, and followed by
// store.Compact; testdata/schema3.json is the manifest that program wrote of what the store held: accounts (one
// a shared mailbox, in units), units, an alias, a group, a grant, the queue (one outbound message), and every
// mailbox with every message's bytes, trace, flags and keywords, modseq and internal date (copies, an expunged
// message and one left \Deleted among them).
const (
	schema3Fixture  = "testdata/schema3.db"
	schema3Manifest = "testdata/schema3.json"
)

type fixtureManifest struct {
	Accounts  []Account
	Units     []Unit
	Aliases   []Alias
	Groups    []Group
	Grants    []Grant
	Queue     []QueuedMessage
	Mailboxes []manifestMailbox
}

type manifestMailbox struct {
	Account, Name        string
	UIDValidity, UIDNext uint32
	HighestModSeq        uint64
	Keywords             []string
	Messages             []manifestMessage
}

type manifestMessage struct {
	UID          uint32
	Body         string
	Trace        string
	ModSeq       uint64
	Flags        []string
	InternalDate time.Time
}

// buildManifest reads what mkschema3 wrote down, through the API, from s.
func buildManifest(t *testing.T, s *Store) fixtureManifest {
	t.Helper()
	var m fixtureManifest
	var errs [6]error
	m.Accounts, errs[0] = s.Accounts()
	m.Units, errs[1] = s.Units()
	m.Aliases, errs[2] = s.Aliases()
	m.Groups, errs[3] = s.Groups()
	m.Grants, errs[4] = s.Grants("vanthu@example.gov.vn")
	m.Queue, errs[5] = s.QueuedMessages()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range m.Accounts {
		boxes, err := s.Mailboxes(a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, mb := range boxes {
			box := manifestMailbox{Account: a.Address, Name: mb.Name, UIDValidity: mb.UIDValidity, UIDNext: mb.UIDNext,
				HighestModSeq: mb.HighestModSeq, Keywords: mb.Keywords}
			msgs, bodies := messagesWithBodies(t, s, mb)
			for i, msg := range msgs {
				box.Messages = append(box.Messages, manifestMessage{UID: msg.UID, Body: string(bodies[i]),
					Trace: string(msg.Trace), ModSeq: msg.ModSeq, Flags: msg.Flags, InternalDate: msg.InternalDate})
			}
			m.Mailboxes = append(m.Mailboxes, box)
		}
	}
	return m
}

func TestSchema3StoreMigratesToSearchIndex(t *testing.T) {
	path := copyFixture(t, schema3Fixture)
	s, err := Open(path, Options{NoSync: true, NoIndexer: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatalf("after the migration: %v", err)
	}
	raw, err := os.ReadFile(schema3Manifest)
	if err != nil {
		t.Fatal(err)
	}
	var want fixtureManifest
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	wantJSON, _ := json.MarshalIndent(want, "", "  ")
	gotJSON, _ := json.MarshalIndent(buildManifest(t, s), "", "  ")
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("the migrated store differs from what schema 3 wrote:\n%s\nwant:\n%s", gotJSON, wantJSON)
	}
	if len(want.Queue) != 1 || len(want.Grants) != 1 || len(want.Groups) != 1 || len(want.Aliases) != 1 || len(want.Units) != 2 {
		t.Errorf("the manifest lacks directory entries: %s", wantJSON)
	}

	needles := []string{"bao cao", "bao", "đe nghi", "an@example", "cong", "dang, cong", "2026", "s3-1", "ke hoach"}
	boxes := want.Mailboxes
	for _, mb := range boxes {
		if len(mb.Messages) == 0 {
			continue
		}
		box := mailboxNamed(t, s, mb.Account, mb.Name)
		if ans, _ := s.SearchIndex(box.ID, SearchText, []byte("bao")); ans.Bound != 0 {
			t.Errorf("%s %q: a migrated mailbox must start unindexed, bound %d", mb.Account, mb.Name, ans.Bound)
		}
	}
	if _, err := s.IndexPending(); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("after indexing: %v", err)
	}
	for _, mb := range boxes {
		box := mailboxNamed(t, s, mb.Account, mb.Name)
		for _, key := range []SearchKey{SearchText, SearchBody, SearchSubject, SearchFrom, SearchTo, SearchCc} {
			for _, n := range needles {
				needle := message.Fold(n)
				oracle := scanAnswer(t, s, box.ID, key, needle)
				if got := indexedAnswer(t, s, box.ID, key, needle, oracle); !slices.Equal(got, oracle) {
					t.Errorf("%s %q key %d %q: index %v, scan %v", mb.Account, mb.Name, key, needle, got, oracle)
				}
			}
		}
		if ans, _ := s.SearchIndex(box.ID, SearchText, []byte("bao")); len(mb.Messages) > 0 && ans.Bound == 0 {
			t.Errorf("%s %q: not indexed", mb.Account, mb.Name)
		}
	}
}

func mailboxNamed(t *testing.T, s *Store, address, name string) Mailbox {
	t.Helper()
	a, err := s.Account(address)
	if err != nil {
		t.Fatal(err)
	}
	return mustMailbox(t, s, a, name)
}
