package message

import (
	"bytes"
	"cmp"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// nestedMultipart builds n multiparts nested in each other, each with a text
// part after the nested one (about 70 bytes per level).
func nestedMultipart(n int) []byte {
	var b bytes.Buffer
	b.WriteString("From: bomb@x\r\nSubject: bomb\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i-1, i)
	}
	for i := n; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d\r\n\r\nx\r\n--b%d--\r\n", i, i)
	}
	return b.Bytes()
}

// nestedMessages builds n message/rfc822 parts nested in each other.
func nestedMessages(n int) []byte {
	var b bytes.Buffer
	for range n {
		b.WriteString("Subject: m\r\nContent-Type: message/rfc822\r\n\r\n")
	}
	b.WriteString("Subject: last\r\n\r\nbody\r\n")
	return b.Bytes()
}

// wideMultipart has n tiny parts.
func wideMultipart(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Content-Type: multipart/mixed; boundary=w\r\n\r\n")
	for i := range n {
		fmt.Fprintf(&b, "--w\r\n\r\npart %d\r\n", i)
	}
	b.WriteString("--w--\r\n")
	return b.Bytes()
}

func depthAndCount(p *Part) (depth, count int) {
	count = 1
	kids := p.Children
	if p.Message != nil {
		kids = []*Part{p.Message}
	}
	for _, c := range kids {
		d, n := depthAndCount(c)
		depth = max(depth, d+1)
		count += n
	}
	return depth, count
}

func TestLimits(t *testing.T) {
	cases := []struct {
		name string
		raw  []byte
		lim  Limits
	}{
		{"nested multipart 5000", nestedMultipart(5000), DefaultLimits},
		{"nested rfc822 10000", nestedMessages(10000), DefaultLimits},
		{"wide 100000", wideMultipart(100_000), DefaultLimits},
		{"small limits", nestedMultipart(50), Limits{MaxParts: 5, MaxHeaderBytes: 200}},
		{"tiny header limit", nestedMultipart(50), Limits{MaxParts: 5, MaxHeaderBytes: 40}},
		{"wide small limits", wideMultipart(30), Limits{MaxParts: 7}},
		{"small scan budget", nestedMultipart(50), Limits{MaxScanBytes: 10_000}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// How long this takes is BenchmarkParse's business ("nested-bomb"); here, what comes out.
			p := ParseWithLimits(c.raw, c.lim)
			maxParts := cmp.Or(c.lim.MaxParts, DefaultLimits.MaxParts)
			depth, count := depthAndCount(p.Root)
			if depth > MaxNesting || count > maxParts {
				t.Errorf("depth %d count %d exceed %d parts", depth, count, maxParts)
			}
			checkStructure(t, c.raw, p.Root)
			assertRoundTrip(t, p)
			m := p.ToMeta()
			src := BytesSource(nil, c.raw)
			got, err := m.ExtractSection(src, &imap.FetchItemBodySection{})
			if err != nil || !bytes.Equal(got, c.raw) {
				t.Errorf("BODY[] differs: %v", err)
			}
			t.Logf("%d bytes: depth %d, parts %d, meta %d bytes", len(c.raw), depth, count, len(p.Meta()))
		})
	}
}

// TestWideTail: when the part budget runs out, the last part covers the rest,
// so every byte stays reachable.
func TestWideTail(t *testing.T) {
	raw := wideMultipart(30)
	p := ParseWithLimits(raw, Limits{MaxParts: 7})
	kids := p.Root.Children
	if len(kids) != 6 {
		t.Fatalf("%d children", len(kids))
	}
	tail := kids[5]
	body := string(raw[tail.BodyStart:tail.End])
	if tail.Type != "application" || !strings.HasPrefix(body, "\r\npart 5") || !strings.HasSuffix(body, "part 29") {
		t.Errorf("tail %s/%s %q...", tail.Type, tail.Subtype, body[:20])
	}
}

// attachmentMessage is a message with one base64 attachment of size bytes. BenchmarkParse measures how parse time
// grows with it (1 MB against 10 MB shows linearity).
func attachmentMessage(size int) []byte {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 31)
	}
	return []byte(crlf("From: a@x.vn\nSubject: big\nContent-Type: multipart/mixed; boundary=big\n\n--big\n"+
		"Content-Type: text/plain; charset=utf-8\n\nXin chào, gửi anh báo cáo.\n--big\n"+
		"Content-Type: application/pdf\nContent-Disposition: attachment; filename=\"bao-cao.pdf\"\n"+
		"Content-Transfer-Encoding: base64\n\n") + b64Lines(data) + "\r\n--big--\r\n")
}

// TestHugeHeader: header limits bound the work on a 5 MB header.
func TestHugeHeader(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("To: ")
	for i := range 200_000 {
		fmt.Fprintf(&b, "user%d@x.vn, ", i)
	}
	b.WriteString("\r\nSubject: (" + strings.Repeat("(", 100_000) + "\r\nMessage-ID: <" + strings.Repeat("(", 1<<20) + "\r\n\r\nbody\r\n")
	p := Parse(b.Bytes())
	if p.Root.BodyStart != int64(b.Len()-len("body\r\n")) {
		t.Errorf("header block must end at the blank line even past the limit")
	}
}

// adversarialInputs are n bytes or so of pathological header or body content each: quadratic paths in a parser
// show on them. BenchmarkParse measures them at two sizes, so that growth faster than linear is visible.
func adversarialInputs(n int) map[string]string {
	return map[string]string{
		"to-parens":    "To: " + strings.Repeat("(", n) + "\r\n\r\n",
		"to-quotes":    "To: " + strings.Repeat("\"a", n/2) + "\r\n\r\n",
		"to-commas":    "To: " + strings.Repeat("a@b, <x, ", n/10) + "\r\n\r\n",
		"to-atoms":     "To: " + strings.Repeat("a ", n/2) + "\r\n\r\n",
		"subject-2047": "Subject: " + strings.Repeat("=?", n/2) + "\r\n\r\n",
		"rfc2231":      "Content-Type: text/plain" + strings.Repeat("; a*1=b", n/8) + "\r\n\r\n",
		"in-reply-to":  "In-Reply-To: " + strings.Repeat("<", n) + "\r\n\r\n",
		"folding":      "Subject: x" + strings.Repeat("\r\n ", n/3) + "\r\n\r\n",
		"html-script":  "Content-Type: text/html\r\n\r\n" + strings.Repeat("<script>", n/8),
		"html-entity":  "Content-Type: text/html\r\n\r\n" + strings.Repeat("&amp;&#", n/6),
		"false-delims": "Content-Type: multipart/mixed; boundary=a\r\n\r\n" + strings.Repeat("\n--aX\n--", n/8),
		"qp-blanks":    "Content-Transfer-Encoding: quoted-printable\r\n\r\n=" + strings.Repeat(" ", 4*n),
	}
}

// TestAdversarialInputs: 1 MB of pathological content parses into a structure that covers the message and
// round-trips through the stored form. Speed is BenchmarkParse's ("adversarial/…").
func TestAdversarialInputs(t *testing.T) {
	for name, raw := range adversarialInputs(1 << 20) {
		p := Parse([]byte(raw))
		if p.Root.End != int64(len(raw)) {
			t.Errorf("%s: the root part ends at %d of %d bytes", name, p.Root.End, len(raw))
		}
		checkStructure(t, []byte(raw), p.Root)
		assertRoundTrip(t, p)
	}
}
