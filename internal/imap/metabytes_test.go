package imap

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

var updateMetaGolden = flag.Bool("update-meta", false, "rewrite testdata/metacorpus.golden")

// TestEnvelopeAndStructureBytes fetches ENVELOPE, BODYSTRUCTURE and BODY of the messages in testdata/metacorpus
// (internal/message's parser corpus, with RFC 2047 Vietnamese names and subjects, groups, quotes and backslashes,
// a message with none of the envelope's fields) and wants the bytes the encoder wrote before its fast paths, kept in
// testdata/metacorpus.golden: with plain IMAP4rev1 strings, and with UTF8=ACCEPT, where UTF-8 goes quoted.
func TestEnvelopeAndStructureBytes(t *testing.T) {
	ts := newTestServer(t)
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "metacorpus", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("corpus: %v %v", files, err)
	}
	slices.Sort(files)
	var batch []store.AppendMessage
	for i, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		p := message.Parse(raw)
		batch = append(batch, store.AppendMessage{NewMessage: store.NewMessage{Body: raw, Meta: p.Meta(),
			Text: p.SearchText(), InternalDate: benchDate(i)}})
	}
	if _, err := ts.st.AppendMany(inbox.ID, batch, nil); err != nil {
		t.Fatal(err)
	}
	rc := dialLoggedIn(t, ts)
	rc.ok("SELECT INBOX")
	got := rc.ok("FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY)")
	rc.ok("ENABLE UTF8=ACCEPT")
	got = append(got, rc.ok("FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY)")...)
	text := strings.Join(got, "\n") + "\n"
	golden := filepath.Join("testdata", "metacorpus.golden")
	if *updateMetaGolden {
		if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if text != string(want) {
		t.Errorf("the responses differ from %s:\n%s", golden, text)
	}
}
