package imap

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"mailserver/internal/store"
)

// schema3Fixture is the store package's schema 3 file: its entries are of the encoding before schema 4, which does
// not record where the body is stored.
const schema3Fixture = "../store/testdata/schema3.db"

// TestFetchOldAndNewEntriesAlike fetches the messages of the schema 3 fixture, whose entries find their body through
// the body record, and their copies, whose entries record the body's place, and wants the same bytes from both: the
// whole message, the header from the header block, header fields, the text, and the items from the parse result;
// and the same again once the bodies have their header copies.
func TestFetchOldAndNewEntriesAlike(t *testing.T) {
	fixture, err := os.ReadFile(schema3Fixture)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mail.db")
	if err := os.WriteFile(path, fixture, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(path, store.Options{NoSync: true, NoIndexer: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acct, err := st.Account(testUser)
	if err != nil {
		t.Fatal(err)
	}
	ts := startTestServer(t, st, acct)
	rc := dialLoggedIn(t, ts)
	rc.ok("SELECT INBOX")
	commands := []string{
		"BODY.PEEK[]",
		"(BODY.PEEK[HEADER] BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)] BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)]<10.50>)",
		"(RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[TEXT] BODY.PEEK[1] BODY.PEEK[HEADER] BINARY.PEEK[1])",
	}
	old := fetchNormalized(rc, "1:13", commands)
	if len(old) < 3*12 {
		t.Fatalf("the fixture's INBOX gave %d lines: %q", len(old), old)
	}
	rc.ok("UID COPY 1:13 INBOX")
	copies := fetchNormalized(rc, "14:*", commands)
	if !slices.Equal(old, copies) {
		t.Errorf("the copies fetch differently:\n%q\nthe originals:\n%q", copies, old)
	}
	// The fixture's bodies have no header copies; once the copier has given them theirs, they fetch the same.
	if _, err := st.CopyHeadersPending(); err != nil {
		t.Fatal(err)
	}
	if copied := fetchNormalized(rc, "1:13", commands); !slices.Equal(old, copied) {
		t.Errorf("the messages fetch differently with header copies:\n%q\nwithout:\n%q", copied, old)
	}
	if err := st.Check(); err != nil {
		t.Errorf("check: %v", err)
	}
}

// fetchPrefix is the part of a FETCH response that differs between a message and its copy.
var fetchPrefix = regexp.MustCompile(`^\* \d+ FETCH \(UID \d+ `)

// fetchNormalized runs UID FETCH uids of each of items and returns every line of the responses, the sequence
// number and UID taken out.
func fetchNormalized(rc *rawConn, uids string, items []string) []string {
	var out []string
	for _, it := range items {
		for _, line := range rc.ok("UID FETCH %s %s", uids, it) {
			out = append(out, fetchPrefix.ReplaceAllString(line, "* FETCH ("))
		}
	}
	return out
}
