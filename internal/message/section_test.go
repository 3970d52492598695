package message

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"
)

const trace = "Return-Path: <an@hanoi.gov.vn>\r\nDelivered-To: binh@hanoi.gov.vn\r\n" +
	"Received: from mx.hanoi.gov.vn\r\n\tby mail.hanoi.gov.vn; Mon, 02 Jan 2006 15:04:05 +0700\r\n"

// sections lists every section worth asking for in a message: the whole
// message variants and, for each part path, the part, its MIME header and,
// where it is (or might be taken for) a message, HEADER/TEXT/HEADER.FIELDS.
func sections(m *Meta) []*imap.FetchItemBodySection {
	fields := []string{"Subject", "from", "RECEIVED", "Content-Type", "X-Missing"}
	out := []*imap.FetchItemBodySection{
		{},
		{Specifier: imap.PartSpecifierHeader},
		{Specifier: imap.PartSpecifierText},
		{Specifier: imap.PartSpecifierHeader, HeaderFields: fields},
		{Specifier: imap.PartSpecifierHeader, HeaderFieldsNot: fields},
		{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"X-Missing"}},
	}
	var walk func(path []int, parts []*Part)
	walk = func(path []int, parts []*Part) {
		for i, p := range parts {
			sub := append(slicesClone(path), i+1)
			out = append(out,
				&imap.FetchItemBodySection{Part: sub},
				&imap.FetchItemBodySection{Part: sub, Specifier: imap.PartSpecifierMIME})
			if p.Message != nil {
				out = append(out,
					&imap.FetchItemBodySection{Part: sub, Specifier: imap.PartSpecifierHeader},
					&imap.FetchItemBodySection{Part: sub, Specifier: imap.PartSpecifierText},
					&imap.FetchItemBodySection{Part: sub, Specifier: imap.PartSpecifierHeader, HeaderFields: fields},
					&imap.FetchItemBodySection{Part: sub, Specifier: imap.PartSpecifierHeader, HeaderFieldsNot: fields})
				walk(sub, messageParts(p.Message))
			} else if p.isMultipart() && p != m.Root {
				walk(sub, p.Children)
			}
		}
	}
	walk(nil, messageParts(m.Root))
	return out
}

func slicesClone(s []int) []int { return append([]int(nil), s...) }

// TestExtractSectionOracle compares with go-imap's ExtractBodySection, which
// is correct on well-formed messages, with and without trace lines.
func TestExtractSectionOracle(t *testing.T) {
	for name, raw := range corpus {
		if !strings.HasPrefix(name, "valid-") {
			continue
		}
		for _, tr := range []string{"", trace} {
			m := Parse([]byte(raw)).ToMeta()
			src := BytesSource([]byte(tr), []byte(raw))
			full := tr + raw
			for _, sec := range sections(m) {
				got, err := m.ExtractSection(src, sec)
				if err != nil {
					t.Fatalf("%s %s: %v", name, secName(sec), err)
				}
				want := imapserver.ExtractBodySection(strings.NewReader(full), sec)
				if !bytes.Equal(got, want) {
					t.Errorf("%s trace=%v %s:\n got %q\nwant %q", name, tr != "", secName(sec), got, want)
				}
				checkPartial(t, m, src, sec, got)
			}
		}
	}
}

// checkPartial checks ExtractSectionPartial against slicing the whole section.
func checkPartial(t *testing.T, m *Meta, src Source, sec *imap.FetchItemBodySection, whole []byte) {
	t.Helper()
	n := int64(len(whole))
	for _, p := range []imap.SectionPartial{{Size: 10}, {Offset: 5, Size: 1 << 20}, {Offset: n - 3, Size: 100}, {Offset: n + 5, Size: 10}} {
		s := *sec
		s.Partial = &p
		got, err := m.ExtractSectionPartial(src, &s)
		if err != nil {
			t.Fatal(err)
		}
		lo := min(max(p.Offset, 0), int64(len(whole)))
		hi := min(lo+p.Size, int64(len(whole)))
		if !bytes.Equal(got, whole[lo:hi]) || got == nil {
			t.Errorf("%s <%d.%d>: got %q want %q", secName(sec), p.Offset, p.Size, got, whole[lo:hi])
		}
	}
}

func secName(sec *imap.FetchItemBodySection) string {
	var parts []string
	for _, n := range sec.Part {
		parts = append(parts, fmt.Sprint(n))
	}
	s := strings.Join(parts, ".")
	if sec.Specifier != "" {
		if s != "" {
			s += "."
		}
		s += string(sec.Specifier)
	}
	if sec.HeaderFields != nil {
		s += fmt.Sprintf(".FIELDS%v", sec.HeaderFields)
	}
	if sec.HeaderFieldsNot != nil {
		s += fmt.Sprintf(".FIELDS.NOT%v", sec.HeaderFieldsNot)
	}
	return "BODY[" + s + "]"
}

func TestExtractSectionMissing(t *testing.T) {
	m := Parse([]byte(corpus["valid-multipart-vi"])).ToMeta()
	src := BytesSource(nil, []byte(corpus["valid-multipart-vi"]))
	for _, sec := range []*imap.FetchItemBodySection{
		{Part: []int{4}},
		{Part: []int{0}},
		{Part: []int{2, 1}}, // a leaf has no parts
		{Part: []int{1, 3}},
		{Specifier: imap.PartSpecifierMIME},
	} {
		got, err := m.ExtractSection(src, sec)
		if err != nil || got != nil {
			t.Errorf("%s: got %q, %v; want nil", secName(sec), got, err)
		}
	}
	// An existing but empty section is empty, not missing.
	raw := "Subject: no body\r\n\r\n"
	m = Parse([]byte(raw)).ToMeta()
	got, err := m.ExtractSection(BytesSource(nil, []byte(raw)), &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText})
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("empty TEXT: %q, %v", got, err)
	}
}

func TestHeaderFieldsBareLF(t *testing.T) {
	raw := "Subject: a\n b\nFrom: x@y.vn\n\nbody\n"
	m := Parse([]byte(raw)).ToMeta()
	got, _ := m.ExtractSection(BytesSource(nil, []byte(raw)),
		&imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"subject"}})
	if want := "Subject: a\r\n b\r\n\r\n"; string(got) != want {
		t.Errorf("got %q want %q", got, want)
	}
	if m.HeaderSize() != int64(strings.Index(raw, "\n\n")+2) {
		t.Errorf("HeaderSize %d", m.HeaderSize())
	}
}

// TestBodyStructureOracle compares BODYSTRUCTURE and ENVELOPE with go-imap's
// extractors on well-formed ASCII-only messages, after normalising what
// legitimately differs (defaults go-imap leaves to its writer).
func TestBodyStructureOracle(t *testing.T) {
	for _, name := range []string{"valid-simple", "valid-rfc822", "valid-single-rfc822"} {
		raw := corpus[name]
		m := Parse([]byte(raw)).ToMeta()
		want := imapserver.ExtractBodyStructure(strings.NewReader(raw))
		got := m.BodyStructure(true)
		normBS(want)
		normBS(got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s BODYSTRUCTURE differs:\n got %s\nwant %s", name, dump(got), dump(want))
		}
		h, _ := textproto.ReadHeader(bufioReader(raw))
		wantEnv := imapserver.ExtractEnvelope(h)
		normEnv(wantEnv)
		if !reflect.DeepEqual(m.Envelope, wantEnv) {
			t.Errorf("%s ENVELOPE differs:\n got %+v\nwant %+v", name, m.Envelope, wantEnv)
		}
	}
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// normBS applies the defaults go-imap's writer applies and folds empty maps.
func normBS(bs imap.BodyStructure) {
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		if len(bs.Extended.Params) == 0 {
			bs.Extended.Params = nil
		}
		normDisp(bs.Extended.Disposition)
		for _, c := range bs.Children {
			normBS(c)
		}
	case *imap.BodyStructureSinglePart:
		bs.Encoding = strings.ToLower(bs.Encoding)
		if bs.Encoding == "" {
			bs.Encoding = "7bit"
		}
		if len(bs.Params) == 0 {
			bs.Params = nil
		}
		normDisp(bs.Extended.Disposition)
		if msg := bs.MessageRFC822; msg != nil {
			normEnv(msg.Envelope)
			normBS(msg.BodyStructure)
		}
	}
}

func normDisp(d *imap.BodyStructureDisposition) {
	if d != nil && len(d.Params) == 0 {
		d.Params = nil
	}
}

func normEnv(env *imap.Envelope) {
	if env.Sender == nil {
		env.Sender = env.From
	}
	if env.ReplyTo == nil {
		env.ReplyTo = env.From
	}
}

func TestHeaderValues(t *testing.T) {
	raw := corpus["valid-multipart-vi"]
	m := Parse([]byte(raw)).ToMeta()
	src := BytesSource([]byte(trace), []byte(raw))
	got, err := m.HeaderValues(src, "subject")
	if err != nil || len(got) != 1 || got[0] != "Báo cáo TỔNG KẾT" {
		t.Errorf("Subject: %q %v", got, err)
	}
	got, _ = m.HeaderValues(src, "Received")
	if len(got) != 1 || got[0] != "from mx.hanoi.gov.vn by mail.hanoi.gov.vn; Mon, 02 Jan 2006 15:04:05 +0700" {
		t.Errorf("Received (from Trace): %q", got)
	}
	if got, _ = m.HeaderValues(src, "X-None"); got != nil {
		t.Errorf("X-None: %q", got)
	}
}
