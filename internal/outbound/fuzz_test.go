package outbound

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzReadReply feeds arbitrary server output to the reply reader: it must never panic, and what it keeps is a
// valid code and bounded, printable text, since replies end up in bounces and logs.
func FuzzReadReply(f *testing.F) {
	for _, seed := range []string{
		"250 2.0.0 Ok\r\n",
		"250-mx.b.gov.vn\r\n250-SIZE 52428800\r\n250 STARTTLS\r\n",
		"550-5.1.1 <x@b.gov.vn>: no such user\r\n550 5.1.1 try again\r\n",
		"451 \x1b[31mred\x00\r\n",
		"250\r\n", "25\r\n", "999 x\r\n", "250-a\r\n251 b\r\n", "354 go ahead\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		code, lines, err := readReply(bufio.NewReaderSize(bytes.NewReader(data), maxReplyLine))
		if err != nil {
			return
		}
		if code < 200 || code > 599 {
			t.Fatalf("code %d accepted", code)
		}
		r := newReply("mx.b.gov.vn", code, lines)
		if len(r.Text) > maxReplyText || !utf8.ValidString(r.Text) || strings.IndexFunc(r.Text, unicode.IsControl) >= 0 {
			t.Fatalf("reply text %q is not bounded, printable UTF-8", r.Text)
		}
		if r.Enhanced != "" {
			if _, _, ok := cutEnhanced(r.Enhanced+" x", code/100); !ok {
				t.Fatalf("enhanced code %q does not match class %d", r.Enhanced, code/100)
			}
		}
	})
}
