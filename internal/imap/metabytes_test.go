package imap

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

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

// TestEnvelopeAndStructureOfRecordsTheWriterRefuses: a stored parse result that message.StructureWriter does not
// take is shown the decoding way, as before it: a parameter list out of order sorted, an unreadable record as an
// empty envelope and a plain-text body of the message's size.
func TestEnvelopeAndStructureOfRecordsTheWriterRefuses(t *testing.T) {
	ts := newTestServer(t)
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	unsorted := (&message.Meta{Envelope: &imap.Envelope{Subject: "x"}, Root: &message.Part{Type: "text",
		Subtype: "plain", Params: map[string]string{"a": "1", "b": "2"}}}).Encode()
	i := bytes.Index(unsorted, []byte("\x02a\x021\x02b"))
	if i < 0 {
		t.Fatalf("unexpected encoding %q", unsorted)
	}
	unsorted[i+1], unsorted[i+5] = 'b', 'a' // b=1, a=2
	raw := []byte("Subject: x\r\n\r\nbody\r\n")
	var batch []store.AppendMessage
	for k, meta := range [][]byte{unsorted, {1, 0xff} /* version 1, then a varint cut short */} {
		body := append(bytes.Clone(raw), byte('0'+k)) // bodies of their own, each with its record
		batch = append(batch, store.AppendMessage{NewMessage: store.NewMessage{Body: body, Meta: meta,
			InternalDate: benchDate(k)}})
	}
	if _, err := ts.st.AppendMany(inbox.ID, batch, nil); err != nil {
		t.Fatal(err)
	}
	rc := dialLoggedIn(t, ts)
	rc.ok("SELECT INBOX")
	got := strings.Join(rc.ok("FETCH 1:* (ENVELOPE BODYSTRUCTURE)"), "\n")
	want := `* 1 FETCH (ENVELOPE (NIL "x" NIL NIL NIL NIL NIL NIL NIL NIL) BODYSTRUCTURE ("text" "plain" ("a" "2" "b" "1") NIL NIL "7bit" 0 0 NIL NIL NIL NIL))
* 2 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) BODYSTRUCTURE ("text" "plain" NIL NIL NIL "7bit" 21 0 NIL NIL NIL NIL))`
	if !strings.HasPrefix(got, want) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
