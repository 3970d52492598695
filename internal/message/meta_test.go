package message

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// assertRoundTrip checks DecodeMeta(Meta()) preserves everything: same JSON
// form (which tells nil from empty), same instants and zone offsets, and the
// same encoding when encoded again.
func assertRoundTrip(t *testing.T, p *Parsed) {
	t.Helper()
	enc := p.Meta()
	m, err := DecodeMeta(enc)
	if err != nil {
		t.Fatalf("DecodeMeta: %v", err)
	}
	want, _ := json.Marshal(p.ToMeta())
	got, _ := json.Marshal(m)
	if !bytes.Equal(got, want) {
		t.Fatalf("round trip differs:\n got %s\nwant %s", got, want)
	}
	sameTime(t, m.Date, p.Date)
	sameTime(t, m.Envelope.Date, p.Envelope.Date)
	if again := m.Encode(); !bytes.Equal(again, enc) {
		t.Fatalf("re-encoding differs")
	}
	start, end, err := RootHeaderRange(enc)
	if err != nil || start != m.Root.HeaderStart || end != m.Root.BodyStart {
		t.Fatalf("RootHeaderRange = %d, %d, %v; want %d, %d", start, end, err, m.Root.HeaderStart, m.Root.BodyStart)
	}
}

func sameTime(t *testing.T, got, want time.Time) {
	t.Helper()
	_, go1 := got.Zone()
	_, wo := want.Zone()
	if !got.Equal(want) || go1 != wo || got.IsZero() != want.IsZero() {
		t.Fatalf("time %v, want %v", got, want)
	}
}

func TestMetaRoundTrip(t *testing.T) {
	for name, raw := range corpus {
		t.Run(name, func(t *testing.T) { assertRoundTrip(t, Parse([]byte(raw))) })
	}
	// Every field set, including ones Parse rarely fills.
	env := &imap.Envelope{
		Date:    time.Date(2024, 3, 1, 8, 30, 15, 123, time.FixedZone("ICT", 7*3600)),
		Subject: "Tổng kết", From: []imap.Address{{Name: "A", Mailbox: "a", Host: "x.vn"}},
		Sender: []imap.Address{{Mailbox: "s", Host: "x.vn"}}, ReplyTo: []imap.Address{},
		Bcc: []imap.Address{{Mailbox: "b", Host: "y.vn"}}, InReplyTo: []string{"1@x", "2@x"}, MessageID: "id@x",
	}
	inner := &Part{Type: "text", Subtype: "plain", Encoding: "7bit", HeaderStart: 100, BodyStart: 120, End: 130, Lines: 1}
	root := &Part{
		Type: "multipart", Subtype: "mixed", Params: map[string]string{"boundary": "b", "x-ünïcode": "vâlue"},
		Encoding: "7bit", End: 500, BodyStart: 40,
		Children: []*Part{{
			Type: "message", Subtype: "rfc822", Params: map[string]string{}, ID: "<id>", Description: "Mô tả",
			Encoding: "8bit", Disposition: "inline", DispositionParams: map[string]string{"filename": "a.eml"},
			Language: []string{"vi"}, Location: "http://x", MD5: "abc=", HeaderStart: 50, BodyStart: 100, End: 130,
			Lines: 3, Message: inner, Envelope: &imap.Envelope{Date: env.Date, Subject: "inner"},
		}},
	}
	assertRoundTrip(t, &Parsed{Envelope: env, Date: env.Date, Root: root})
}

// TestDecodeMetaCorrupt: truncated or damaged encodings fail cleanly.
func TestDecodeMetaCorrupt(t *testing.T) {
	enc := Parse([]byte(corpus["valid-multipart-vi"])).Meta()
	for n := 0; n < len(enc); n++ {
		if _, err := DecodeMeta(enc[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: no error", n)
		}
		RootHeaderRange(enc[:n]) // must not panic

	}
	rng := rand.New(rand.NewSource(2))
	for range 5000 {
		b := bytes.Clone(enc)
		for range 1 + rng.Intn(4) {
			b[1+rng.Intn(len(b)-1)] = byte(rng.Intn(256))
		}
		if m, err := DecodeMeta(b); err == nil {
			m.BodyStructure(true) // must not panic either
		}
		RootHeaderRange(b)
	}
	if _, err := DecodeMeta([]byte{99}); err == nil {
		t.Fatal("unknown version accepted")
	}
}
