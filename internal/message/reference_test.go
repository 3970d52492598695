package message

import (
	"bytes"
	"html"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The implementations the fast paths of fold.go, cte.go, text.go and terms.go replaced, kept as the reference they
// must agree with on every input (the Fuzz*MatchesReference targets below; parseDate's reference is its own slow
// path, parseAnyDate).

// refFold is the former fold: rune by rune, every rune through utf8 and foldRune.
func refFold(s string, latinOnly bool) (string, bool) {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		var rep string
		if c < utf8.RuneSelf {
			i++
			if c <= ' ' || c == 0x7f {
				space = b.Len() > 0
				continue
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteByte(c)
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if latinOnly && !foldsWithoutNFC(r) {
			return "", false
		}
		i += n
		rep = foldRune(r)
		switch rep {
		case "":
			continue
		case " ":
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteString(rep)
	}
	return b.String(), true
}

func refFoldText(s string) string {
	if folded, ok := refFold(s, true); ok {
		return folded
	}
	folded, _ := refFold(cleanText(s), false)
	return folded
}

// refQPDecoder is the former qpDecoder: appends byte by byte and run by run.
type refQPDecoder struct{ pend []byte }

func (d *refQPDecoder) decode(dst, p []byte) []byte {
	if len(d.pend) > 0 {
		p = append(d.pend, p...)
		d.pend = nil
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '=':
			rest := p[i+1:]
			if b, ok := refHexPair(rest); ok {
				dst = append(dst, b)
				i += 2
				continue
			}
			if n := softBreak(rest); n > 0 {
				i += n
				continue
			}
			if qpIncomplete(rest) {
				d.pend = append(d.pend[:0], p[i:]...)
				return dst
			}
			dst = append(dst, '=')
		case c == ' ' || c == '\t':
			j := i
			for j < len(p) && (p[j] == ' ' || p[j] == '\t') {
				j++
			}
			if j == len(p) && j-i <= maxPend {
				d.pend = append(d.pend[:0], p[i:]...)
				return dst
			}
			if j == len(p) || (p[j] != '\r' && p[j] != '\n') {
				dst = append(dst, p[i:j]...)
			}
			i = j - 1
		default:
			j := i + 1
			for j < len(p) && !qpSpecial[p[j]] {
				j++
			}
			dst = append(dst, p[i:j]...)
			i = j - 1
		}
	}
	return dst
}

func (d *refQPDecoder) flush(dst []byte) []byte {
	q := qpDecoder{pend: d.pend}
	d.pend = nil
	return q.flush(dst)
}

func refHexPair(b []byte) (byte, bool) {
	if len(b) < 2 {
		return 0, false
	}
	hi, lo := hexVal[b[0]], hexVal[b[1]]
	return hi<<4 | lo, hi|lo < 0x10
}

// refStripHTML is the former stripHTML, on a strings.Builder.
func refStripHTML(s string) string {
	var out strings.Builder
	out.Grow(len(s) / 2)
	for len(s) > 0 {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			out.WriteString(html.UnescapeString(s))
			break
		}
		out.WriteString(html.UnescapeString(s[:lt]))
		out.WriteByte(' ')
		s = skipTag(s[lt:])
	}
	return out.String()
}

// refTextSink is the former textSink, on a strings.Builder.
type refTextSink struct {
	b   strings.Builder
	max int
}

func (t *refTextSink) add(s string) {
	if s == "" || t.b.Len() >= t.max {
		return
	}
	if t.b.Len() > 0 {
		if t.max-t.b.Len() < 2 {
			return
		}
		t.b.WriteByte('\n')
	}
	if room := t.max - t.b.Len(); len(s) > room {
		cut := room
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	t.b.WriteString(s)
}

// refEachTerm is the former EachTerm: every byte through IsWordRune.
func refEachTerm(text []byte, fn func(Term)) {
	start := -1
	for i := 0; i < len(text); {
		r, n := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(text[i:])
		}
		if IsWordRune(r) {
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			fn(Term{Text: text[start:i], AtStart: start == 0})
			start = -1
		}
		i += n
	}
	if start >= 0 {
		fn(Term{Text: text[start:], AtStart: start == 0, AtEnd: true})
	}
}

// textSeeds are inputs for the differential targets: the mailbench letter, the corpus, and text in every range the
// fast paths treat apart (ASCII, the two-byte Latin letters, Latin Extended Additional, other scripts, broken UTF-8).
func textSeeds(tb testing.TB) []string {
	seeds := []string{string(mailbenchMessage(tb)), "Báo cáo TỔNG KẾT", norm.NFD.String("Đầu tư ưu ơi Ủy"),
		"Crème Brûlée Ærø Straße Łódź İstanbul ǅ Ⱥ ɐ", "ΆΈΉ Ελληνικά Москва 中文 한국어 \u1100\u1161",
		"bad\xffutf8 \xc3 \xe1\xbb \xe1\xb8\x41 \xc0\x80 \xed\xa0\x80", "  many\t\r\n spaces\u00a0here \u200b\u00ad ",
		"=C3=A1 =\r\n= =4 =ZZ \t\r\nx \t", "<p>a &amp; b</p><script>x</script><!-- c -->&eacute;&#7893;"}
	for _, raw := range corpus {
		seeds = append(seeds, raw)
	}
	return seeds
}

func FuzzFoldMatchesReference(f *testing.F) {
	for _, s := range textSeeds(f) {
		f.Add(s, "")
		f.Add(s, "prefix ")
	}
	f.Fuzz(func(t *testing.T, s, prefix string) {
		want, _ := refFold(s, false)
		if got := Fold(s); got != want {
			t.Fatalf("Fold(%q) = %q, want %q", s, got, want)
		}
		wantText := refFoldText(s)
		if got := string(appendFoldText([]byte(prefix), s)); got != prefix+wantText {
			t.Fatalf("appendFoldText(%q, %q) = %q, want %q", prefix, s, got, prefix+wantText)
		}
		if got, ok := appendFold([]byte(prefix), s, true); !ok && string(got) != prefix {
			t.Fatalf("appendFold(%q, %q) gave up but left %q", prefix, s, got)
		}
	})
}

func FuzzQPDecodeMatchesReference(f *testing.F) {
	for _, s := range textSeeds(f) {
		f.Add([]byte(s), uint16(7), uint16(1000))
	}
	f.Fuzz(func(t *testing.T, in []byte, cut1, cut2 uint16) {
		// The same input in up to three chunks, as a stream decodes it.
		a, b := min(int(cut1), len(in)), min(int(cut2), len(in))
		a, b = min(a, b), max(a, b)
		chunks := [][]byte{in[:a], in[a:b], in[b:]}
		var got, want []byte
		d, ref := &qpDecoder{}, &refQPDecoder{}
		for _, c := range chunks {
			got = d.decode(got, c)
			want = ref.decode(want, c)
		}
		got, want = d.flush(got), ref.flush(want)
		if !bytes.Equal(got, want) {
			t.Fatalf("decode in %q: %q, want %q", chunks, got, want)
		}
		prefix := []byte("kept")
		if got := appendDecoded(prefix, "quoted-printable", in, 0); !bytes.Equal(got, append(prefix, want...)) {
			t.Fatalf("appendDecoded(%q) = %q, want %q", in, got, want)
		}
	})
}

func FuzzTextMatchesReference(f *testing.F) {
	for _, s := range textSeeds(f) {
		f.Add(s, s[:len(s)/2], uint16(len(s)))
	}
	f.Fuzz(func(t *testing.T, a, b string, max uint16) {
		if got, want := string(appendStripHTML(nil, a)), refStripHTML(a); got != want {
			t.Fatalf("appendStripHTML(%q) = %q, want %q", a, got, want)
		}
		// Two sources into sinks with a small cap, the first folded as addPartText does, the second added as
		// addNames does, then the first again.
		sink, ref := textSink{max: int(max)}, refTextSink{max: int(max)}
		sink.addFoldText(a)
		ref.add(refFoldText(a))
		sink.add(Fold(b))
		ref.add(Fold(b))
		sink.addFoldText(a)
		ref.add(refFoldText(a))
		if got, want := string(sink.b), ref.b.String(); got != want {
			t.Fatalf("sink of %q, %q (max %d) = %q, want %q", a, b, max, got, want)
		}
	})
}

func FuzzEachTermMatchesReference(f *testing.F) {
	for _, s := range textSeeds(f) {
		f.Add([]byte(s))
		f.Add([]byte(Fold(s)))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		var got, want []Term
		EachTerm(text, func(t Term) { got = append(got, t) })
		refEachTerm(text, func(t Term) { want = append(want, t) })
		if !slices.EqualFunc(got, want, func(a, b Term) bool {
			return bytes.Equal(a.Text, b.Text) && a.AtStart == b.AtStart && a.AtEnd == b.AtEnd
		}) {
			t.Fatalf("EachTerm(%q) = %+v, want %+v", text, got, want)
		}
	})
}

func FuzzParseDateMatchesReference(f *testing.F) {
	for _, s := range []string{"Sun, 01 Mar 2026 09:00:00 +0000", "Mon, 02 Jan 2006 15:04:05 -0700",
		"Tue, 3 Jan 2006 08:00:00 +0700", "Sun, 01 Mar 2026 09:00:00 GMT", "Sun, 01 Mar 2026 09:00:00 +0000 (UTC)",
		"Xyz, 31 Feb 2026 25:61:61 +9999", "Sun, 01 Mar 2026 09:00:00 +07:0", "Sun,  1 Mar 2026 09:00:00 +0700"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if got, want := parseDate(v), parseAnyDate(v); got.String() != want.String() {
			t.Fatalf("parseDate(%q) = %v, want %v", v, got, want)
		}
	})
}
