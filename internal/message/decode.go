package message

import (
	"bytes"
	"io"
	"mime"
	"strings"
	"unicode/utf8"
	"unsafe"

	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // legacy charsets (windows-1258, iso-8859-*, ...) for go-message
	"golang.org/x/text/unicode/norm"
)

// wordDecoder decodes RFC 2047 words. Its charset reader never fails, so one
// word in an unknown charset cannot make the whole header undecodable.
var wordDecoder = &mime.WordDecoder{CharsetReader: lenientCharsetReader}

func lenientCharsetReader(cs string, in io.Reader) (io.Reader, error) {
	cs = normCharset(cs)
	if isUTF8Charset(cs) || gomessage.CharsetReader == nil {
		return in, nil
	}
	r, err := gomessage.CharsetReader(cs, in)
	if err != nil || r == nil {
		// Unknown charset: pass the bytes through; invalid UTF-8 is
		// replaced afterwards.
		return in, nil
	}
	return r, nil
}

// normCharset lower-cases a charset label and drops an RFC 2231 language
// suffix ("utf-8*vi"), blanks or quotes around it, and the "x-" some old
// Vietnamese mailers put before a registered name ("x-windows-1258").
func normCharset(cs string) string {
	cs = strings.ToLower(strings.Trim(cs, " \t\"'"))
	if i := strings.IndexByte(cs, '*'); i >= 0 {
		cs = cs[:i]
	}
	if rest, ok := strings.CutPrefix(cs, "x-"); ok && (strings.HasPrefix(rest, "windows-") || strings.HasPrefix(rest, "iso-")) {
		cs = rest
	}
	return cs
}

func isUTF8Charset(cs string) bool {
	switch cs {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return true
	}
	return false
}

// isUnlabelled reports whether charset label cs (normalised) says nothing of
// 8-bit text: none, us-ascii (which 8-bit bytes contradict), or unknown-8bit
// (RFC 1428).
func isUnlabelled(cs string) bool {
	switch cs {
	case "", "us-ascii", "ascii", "unknown-8bit":
		return true
	}
	return false
}

// toUTF8 converts b from charset cs to NFC UTF-8. Unknown charsets and invalid
// bytes never fail: what cannot be converted becomes U+FFFD. Unlabelled text
// that is not UTF-8 is read as windows-1258 when windows1258Text takes it for
// Vietnamese.
func toUTF8(b []byte, cs string) string {
	s, _ := decodeText(b, cs)
	return s
}

// decodeText is toUTF8, and reports whether unlabelled text was read as
// windows-1258.
func decodeText(b []byte, cs string) (text string, windows1258 bool) {
	text, windows1258 = decodeCharset(b, cs)
	return cleanText(text), windows1258
}

// decodeCharset is decodeText without cleanText: what it returns may hold
// invalid bytes and need NFC.
func decodeCharset(b []byte, cs string) (text string, windows1258 bool) {
	text, windows1258 = charsetView(b, cs)
	if !windows1258 {
		text = strings.Clone(text)
	}
	return text, windows1258
}

// charsetView is decodeCharset for a caller that keeps b unchanged while it reads the text: text may be b itself.
func charsetView(b []byte, cs string) (text string, windows1258 bool) {
	cs = normCharset(cs)
	if isUnlabelled(cs) {
		if s, ok := windows1258Text(b); ok {
			return s, true
		}
	}
	if !isUTF8Charset(cs) && gomessage.CharsetReader != nil {
		if r, err := gomessage.CharsetReader(cs, bytes.NewReader(b)); err == nil && r != nil {
			if out, err := io.ReadAll(r); err == nil {
				b = out
			}
		}
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), false
}

// cleanText makes s valid UTF-8 in NFC. windows-1258 and some mailers produce
// decomposed Vietnamese; NFC makes it compare equal to what clients type.
func cleanText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if !isASCII(s) {
		s = norm.NFC.String(s)
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// DecodeHeaderValue decodes RFC 2047 words with any charset go-message/charset
// knows (windows-1258 included) and returns NFC UTF-8. Raw 8-bit bytes that are
// not UTF-8 are read as windows-1258 when windows1258Text takes them for
// Vietnamese; otherwise invalid bytes become U+FFFD. Control characters become
// spaces, so the result is safe to put in an ENVELOPE.
func DecodeHeaderValue(v string) string {
	return decodeHeader(v, "")
}

// decodeHeader is DecodeHeaderValue with a fallback charset for raw 8-bit
// header values that are not UTF-8 (old mailers write them in the body's
// charset without RFC 2047). Without one, they are decoded as unlabelled text.
func decodeHeader(v, fallback string) string {
	if !utf8.ValidString(v) {
		v = toUTF8([]byte(v), fallback)
	}
	if strings.Contains(v, "=?") {
		if d, err := wordDecoder.DecodeHeader(v); err == nil {
			v = d
		}
	}
	return stripControls(cleanText(v))
}

// stripControls replaces C0 controls and DEL with spaces: a decoded word may
// smuggle CR/LF, which has no place in a single-line value.
func stripControls(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			b[i] = ' '
		}
	}
	return string(b)
}
