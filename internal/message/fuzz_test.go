package message

import (
	"bytes"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// FuzzParse: Parse never panics, its structure is valid, Meta round-trips,
// and every section can be extracted. Seeds live in testdata/fuzz/FuzzParse.
//
//	go test -run '^$' -fuzz FuzzParse ./internal/message/
func FuzzParse(f *testing.F) {
	for _, raw := range corpus {
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := ParseWithLimits(raw, Limits{MaxParts: 100, MaxScanBytes: 1 << 20, MaxHeaderBytes: 4096})
		if p.Envelope == nil || p.Root == nil {
			t.Fatal("nil envelope or root")
		}
		checkStructure(t, raw, p.Root)
		assertRoundTrip(t, p)
		m := p.ToMeta()
		src := BytesSource([]byte(trace), raw)
		for _, sec := range sections(m) {
			if _, err := m.ExtractSection(src, sec); err != nil {
				t.Fatalf("%s: %v", secName(sec), err)
			}
			if len(sec.Part) > 0 {
				_, _ = m.ExtractBinary(src, sec.Part)
			}
		}
		whole, _ := m.ExtractSection(src, &imap.FetchItemBodySection{})
		if !bytes.Equal(whole, append([]byte(trace), raw...)) {
			t.Fatal("BODY[] is not Trace+Body")
		}
	})
}

// FuzzDecodeMeta: arbitrary bytes never make DecodeMeta or what uses its
// result panic.
func FuzzDecodeMeta(f *testing.F) {
	for _, raw := range corpus {
		f.Add(Parse([]byte(raw)).Meta())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMeta(b)
		if err != nil {
			return
		}
		m.BodyStructure(true)
		m.HeaderSize()
		src := BytesSource(nil, make([]byte, 100))
		for _, sec := range sections(m) {
			_, _ = m.ExtractSection(src, sec)
		}
	})
}
