package message

import (
	"fmt"
	"maps"
	"mime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// tokenText records what a TokenWriter receives as text: strings in Go quotes, so two writers can be compared.
type tokenText struct{ b strings.Builder }

func (w *tokenText) Special(ch byte)      { w.b.WriteByte(ch) }
func (w *tokenText) NIL()                 { w.b.WriteString("NIL") }
func (w *tokenText) String(s string)      { fmt.Fprintf(&w.b, "%q", s) }
func (w *tokenText) Number64(v int64)     { fmt.Fprint(&w.b, v) }
func (w *tokenText) WriteString(s string) { w.b.WriteString(s) }

// The oracle: the tokens go-imap's imapserver writes for an imap.Envelope and an imap.BodyStructure
// (writeEnvelope, writeBodyType1part, writeBodyTypeMpart), which a StructureWriter must reproduce.

func oracleNString(w *tokenText, s string) {
	if s == "" {
		w.NIL()
	} else {
		w.String(s)
	}
}

func oracleEnvelope(w *tokenText, env *imap.Envelope) {
	sender, replyTo := env.Sender, env.ReplyTo
	if sender == nil {
		sender = env.From
	}
	if replyTo == nil {
		replyTo = env.From
	}
	w.Special('(')
	if env.Date.IsZero() {
		w.NIL()
	} else {
		w.String(env.Date.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	}
	w.Special(' ')
	oracleNString(w, mime.QEncoding.Encode("utf-8", env.Subject))
	for _, l := range [][]imap.Address{env.From, sender, replyTo, env.To, env.Cc, env.Bcc} {
		w.Special(' ')
		if len(l) == 0 {
			w.NIL()
			continue
		}
		w.Special('(')
		for i, a := range l {
			if i > 0 {
				w.Special(' ')
			}
			w.Special('(')
			oracleNString(w, mime.QEncoding.Encode("utf-8", a.Name))
			for _, s := range []string{a.ADL, a.Mailbox, a.Host} {
				w.Special(' ')
				oracleNString(w, s)
			}
			w.Special(')')
		}
		w.Special(')')
	}
	w.Special(' ')
	if len(env.InReplyTo) > 0 {
		w.String("<" + strings.Join(env.InReplyTo, "> <") + ">")
	} else {
		w.NIL()
	}
	w.Special(' ')
	if env.MessageID != "" {
		w.String("<" + env.MessageID + ">")
	} else {
		w.NIL()
	}
	w.Special(')')
}

func oracleStructure(w *tokenText, bs imap.BodyStructure, extended bool) {
	w.Special('(')
	switch bs := bs.(type) {
	case *imap.BodyStructureSinglePart:
		w.String(bs.Type)
		w.Special(' ')
		w.String(bs.Subtype)
		w.Special(' ')
		oracleParams(w, bs.Params)
		w.Special(' ')
		oracleNString(w, bs.ID)
		w.Special(' ')
		oracleNString(w, bs.Description)
		w.Special(' ')
		w.String(partEncoding(bs.Encoding))
		w.Special(' ')
		w.Number64(int64(bs.Size))
		if msg := bs.MessageRFC822; msg != nil {
			w.Special(' ')
			oracleEnvelope(w, msg.Envelope)
			w.Special(' ')
			oracleStructure(w, msg.BodyStructure, extended)
			w.Special(' ')
			w.Number64(msg.NumLines)
		} else if bs.Text != nil {
			w.Special(' ')
			w.Number64(bs.Text.NumLines)
		}
		if extended {
			w.WriteString(" NIL")
			oracleExtension(w, bs.Extended.Disposition, bs.Extended.Language, bs.Extended.Location)
		}
	case *imap.BodyStructureMultiPart:
		for _, c := range bs.Children {
			oracleStructure(w, c, extended)
		}
		w.Special(' ')
		w.String(bs.Subtype)
		if extended {
			w.Special(' ')
			oracleParams(w, bs.Extended.Params)
			oracleExtension(w, bs.Extended.Disposition, bs.Extended.Language, bs.Extended.Location)
		}
	}
	w.Special(')')
}

func oracleParams(w *tokenText, params map[string]string) {
	if len(params) == 0 {
		w.NIL()
		return
	}
	w.Special('(')
	for i, k := range slices.Sorted(maps.Keys(params)) {
		if i > 0 {
			w.Special(' ')
		}
		w.String(k)
		w.Special(' ')
		w.String(params[k])
	}
	w.Special(')')
}

func oracleExtension(w *tokenText, disp *imap.BodyStructureDisposition, lang []string, location string) {
	w.Special(' ')
	if disp == nil {
		w.NIL()
	} else {
		w.Special('(')
		w.String(disp.Value)
		w.Special(' ')
		oracleParams(w, disp.Params)
		w.Special(')')
	}
	w.Special(' ')
	if len(lang) == 0 {
		w.NIL()
	} else {
		w.Special('(')
		for i, l := range lang {
			if i > 0 {
				w.Special(' ')
			}
			w.String(l)
		}
		w.Special(')')
	}
	w.Special(' ')
	oracleNString(w, location)
}

// streamedAndOracle returns the envelope and both body structures of meta as the StructureWriter writes them and
// as the library writes DecodeMeta's result; ok is false when the writer does not accept meta.
func streamedAndOracle(t *testing.T, meta []byte) (got, want string, ok bool) {
	t.Helper()
	streamable := StreamableMeta(meta)
	m, err := DecodeMeta(meta)
	if err != nil {
		if streamable {
			t.Fatalf("StreamableMeta accepts what DecodeMeta refuses (%v): %q", err, meta)
		}
		return "", "", false
	}
	if !streamable {
		return "", "", false
	}
	var sw StructureWriter
	var g, o tokenText
	sw.Envelope(&g, meta)
	oracleEnvelope(&o, m.Envelope)
	for _, extended := range []bool{false, true} {
		g.WriteString(" | ")
		o.WriteString(" | ")
		sw.BodyStructure(&g, meta, extended)
		oracleStructure(&o, m.BodyStructure(true), extended)
	}
	return g.b.String(), o.b.String(), true
}

// TestStructureWriterWritesWhatTheLibraryWrites compares the StructureWriter with the library's writer over the
// parser corpus and cases the corpus lacks: RFC 2047 names and non-ASCII parameters (RFC 2231 Vietnamese
// filenames), groups, nested multiparts, message/rfc822 parts, long subjects split into several encoded words,
// dates in odd zones, Sender and Reply-To of their own.
func TestStructureWriterWritesWhatTheLibraryWrites(t *testing.T) {
	cases := map[string][]byte{}
	for name, raw := range corpus {
		cases[name] = Parse([]byte(raw)).Meta()
	}
	for name, raw := range streamCases {
		cases[name] = Parse([]byte(crlf(raw))).Meta()
	}
	for name, meta := range handMadeMetas() {
		cases[name] = meta
	}
	for _, name := range slices.Sorted(maps.Keys(cases)) {
		got, want, ok := streamedAndOracle(t, cases[name])
		if !ok {
			t.Errorf("%s: not streamable", name)
			continue
		}
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

var streamCases = map[string]string{
	"vietnamese-2231": `From: =?UTF-8?Q?Ph=C3=B2ng_T=E1=BB=95_ch=E1=BB=A9c?= <tochuc@example.gov.vn>
Sender: "Văn thư" <vanthu@example.gov.vn>
Reply-To: =?UTF-8?B?QuG7mSBwaOG6rW4gbeG7mXQgY+G7rWE=?= <motcua@example.gov.vn>, khac@example.gov.vn
To: Nhóm: an@example.gov.vn, "Bình \"B\"" <binh@example.gov.vn>;
Cc: undisclosed-recipients:;
Subject: =?UTF-8?Q?Th=C3=B4ng_b=C3=A1o_v=E1=BB=81_vi=E1=BB=87c_t=E1=BB=95_ch=E1=BB=A9c_h=E1=BB=99i_ngh=E1=BB=8B_t=E1=BB=95ng_k=E1=BA=BFt_c=C3=B4ng_t=C3=A1c_n=C4=83m_2026?=
Date: Thu, 1 Jan 2026 08:00:00 +0545
In-Reply-To: <a@example.gov.vn> <b@example.gov.vn>
Message-ID: <vi-2231@example.gov.vn>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"
Content-Description: =?UTF-8?Q?N=E1=BB=99i_dung?=
Content-Language: vi, en

--inner
Content-Type: text/plain; charset=utf-8; format=flowed

Kính gửi.
--inner
Content-Type: text/html; charset=utf-8

<p>Kính gửi.</p>
--inner--
--outer
Content-Type: application/pdf; name*=utf-8''B%C3%A1o%20c%C3%A1o%20qu%C3%BD%201.pdf
Content-Disposition: attachment; filename*0*=utf-8''B%C3%A1o%20c%C3%A1o;
 filename*1*=%20qu%C3%BD%201.pdf; size=12
Content-ID: <pdf1@example.gov.vn>
Content-Location: http://example.gov.vn/a.pdf
Content-Transfer-Encoding: BASE64

JVBERi0xLjQK
--outer
Content-Type: message/rfc822

From: "Nested \\ Name" <n@example.gov.vn>
Subject: =?UTF-8?Q?L=E1=BB=93ng?=
Date: Wed, 31 Dec 2025 23:59:59 -0000

--x
--outer--
`,
	"bare": "Subject: plain\n\nbody\n",
}

// handMadeMetas are encodings the parser does not produce but old or other writers might: Sender and Reply-To
// present but nil or empty, and a date equal to the message date in an embedded envelope.
func handMadeMetas() map[string][]byte {
	date := time.Date(2026, 3, 1, 9, 30, 15, 0, time.FixedZone("ICT", 7*3600))
	env := &imap.Envelope{Date: date, Subject: "s", From: []imap.Address{{Name: "Ánh", Mailbox: "a", Host: "h"}},
		Sender: []imap.Address{}, ReplyTo: []imap.Address{{Mailbox: "r", Host: "h", ADL: "@relay"}}}
	inner := &Part{Type: "text", Subtype: "plain", Encoding: "7bit", Lines: 2, End: 10, BodyStart: 4}
	root := &Part{Type: "message", Subtype: "rfc822", Encoding: "", Message: inner, Lines: 3,
		Envelope: &imap.Envelope{Date: date}, Params: map[string]string{"a": "é", "b": "x y"}, Disposition: "inline",
		DispositionParams: map[string]string{}, Description: "mô tả", Language: []string{"vi"}}
	metas := map[string][]byte{"hand-made": (&Meta{Date: date, Envelope: env, Root: root}).Encode()}
	// Dates in zones of seconds and odd minutes, before the common era, at the zero time's instant but elsewhere.
	for i, d := range []time.Time{
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", -30)),
		time.Date(1969, 12, 31, 23, 59, 59, 999, time.FixedZone("X", 3599)),
		time.Date(-44, 3, 15, 12, 0, 0, 0, time.FixedZone("", -(9*3600+30*60))),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.FixedZone("", 7*3600)),
		time.Time{}.In(time.FixedZone("", 7*3600)),
	} {
		m := &Meta{Envelope: &imap.Envelope{Date: d, Subject: "date"}, Root: &Part{Type: "text", Subtype: "plain"}}
		metas[fmt.Sprintf("date-%d", i)] = m.Encode()
	}
	return metas
}

// TestStreamableMetaRefusesUnsortedParameters: a parameter list out of order (or with a name twice) goes the
// decoding way, whose map sorts it and keeps the last value.
func TestStreamableMetaRefusesUnsortedParameters(t *testing.T) {
	meta := (&Meta{Envelope: &imap.Envelope{}, Root: &Part{Type: "text", Subtype: "plain",
		Params: map[string]string{"a": "1", "b": "2"}}}).Encode()
	if !StreamableMeta(meta) {
		t.Fatal("a sorted list is refused")
	}
	i := strings.Index(string(meta), "\x02a")
	if i < 0 || meta[i+4] != '\x02' || meta[i+5] != 'b' {
		t.Fatalf("unexpected encoding %q", meta)
	}
	meta[i+1], meta[i+5] = 'b', 'a'
	if StreamableMeta(meta) {
		t.Fatal("an unsorted list is accepted")
	}
}

// TestEncodedWordIsMimes: appendEncodedWord makes what mime.QEncoding.Encode makes, splitting long text between
// runes.
func TestEncodedWordIsMimes(t *testing.T) {
	for _, s := range []string{"", "plain ascii", "tab\there", "Gi\u1ea5y m\u1eddi h\u1ecdp", "a=b?c_d",
		strings.Repeat("Việt Nam ", 20), strings.Repeat("x", 70) + "é", "\xff\xfe broken", "\x7f", "ctl\x01"} {
		want := mime.QEncoding.Encode("utf-8", s)
		got := s
		if needsEncodedWord(s) {
			got = string(appendEncodedWord(nil, s))
		}
		if got != want {
			t.Errorf("%q: got %q, want %q", s, got, want)
		}
	}
}

// FuzzStructureWriter: on arbitrary bytes, StreamableMeta accepts nothing DecodeMeta refuses, and what it accepts
// is written as the library writes the decoded meta.
//
//	go test -run '^$' -fuzz FuzzStructureWriter ./internal/message/
func FuzzStructureWriter(f *testing.F) {
	for _, raw := range corpus {
		f.Add(Parse([]byte(raw)).Meta())
	}
	for _, raw := range streamCases {
		f.Add(Parse([]byte(crlf(raw))).Meta())
	}
	f.Fuzz(func(t *testing.T, meta []byte) {
		if got, want, ok := streamedAndOracle(t, meta); ok && got != want {
			t.Fatalf("got %s\nwant %s", got, want)
		}
	})
}

// discardTokens is a TokenWriter that keeps nothing, for the benchmarks.
type discardTokens struct{ n int }

func (w *discardTokens) Special(byte)   { w.n++ }
func (w *discardTokens) NIL()           { w.n++ }
func (w *discardTokens) String(string)  { w.n++ }
func (w *discardTokens) Number64(int64) { w.n++ }

// BenchmarkStructureWriter checks and writes the ENVELOPE and BODYSTRUCTURE of a Vietnamese multipart message, as
// FETCH does for each message.
func BenchmarkStructureWriter(b *testing.B) {
	meta := Parse([]byte(crlf(streamCases["vietnamese-2231"]))).Meta()
	var sw StructureWriter
	var w discardTokens
	b.ReportAllocs()
	for b.Loop() {
		if !StreamableMeta(meta) {
			b.Fatal("not streamable")
		}
		sw.Envelope(&w, meta)
		sw.BodyStructure(&w, meta, true)
	}
}

func BenchmarkStreamableMeta(b *testing.B) {
	meta := Parse([]byte(crlf(streamCases["vietnamese-2231"]))).Meta()
	b.ReportAllocs()
	for b.Loop() {
		StreamableMeta(meta)
	}
}

func BenchmarkDecodeMetaStructure(b *testing.B) {
	meta := Parse([]byte(crlf(streamCases["vietnamese-2231"]))).Meta()
	b.ReportAllocs()
	for b.Loop() {
		m, _ := DecodeMeta(meta)
		m.BodyStructure(true)
	}
}
