package message

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// ErrUnknownCTE reports a Content-Transfer-Encoding this package cannot
// decode; the IMAP layer answers NO [UNKNOWN-CTE]. Errors returned wrap it:
// test with errors.Is.
var ErrUnknownCTE = errors.New("message: unknown content-transfer-encoding")

// cteDecoder decodes a transfer encoding incrementally, so a 10 MB attachment
// can be sized or streamed without being held in memory twice. Malformed input
// never fails: what cannot be decoded is skipped (base64) or kept (QP).
type cteDecoder interface {
	// decode appends the decoded form of p to dst; p may end anywhere.
	decode(dst, p []byte) []byte
	// flush appends whatever a truncated input left pending.
	flush(dst []byte) []byte
}

// newDecoder returns the decoder for a (lower-case) encoding, nil for the
// identity encodings, or an error wrapping ErrUnknownCTE.
func newDecoder(enc string) (cteDecoder, error) {
	switch enc {
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit":
		return nil, nil
	case "base64":
		return &b64Decoder{}, nil
	case "quoted-printable":
		return &qpDecoder{}, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownCTE, enc)
}

var b64Val = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// b64Decoder skips everything outside the alphabet (line breaks, blanks,
// garbage) and treats '=' as the end of a quantum.
type b64Decoder struct {
	acc uint32
	n   int // sextets in acc
}

func (d *b64Decoder) decode(dst, p []byte) []byte {
	for _, c := range p {
		if c == '=' {
			dst = d.flush(dst)
			continue
		}
		v := b64Val[c]
		if v == 0xff {
			continue
		}
		d.acc = d.acc<<6 | uint32(v)
		d.n++
		if d.n == 4 {
			dst = append(dst, byte(d.acc>>16), byte(d.acc>>8), byte(d.acc))
			d.acc, d.n = 0, 0
		}
	}
	return dst
}

func (d *b64Decoder) flush(dst []byte) []byte {
	switch d.n {
	case 2:
		dst = append(dst, byte(d.acc>>4))
	case 3:
		dst = append(dst, byte(d.acc>>10), byte(d.acc>>2))
	}
	d.acc, d.n = 0, 0
	return dst
}

// qpDecoder decodes quoted-printable (RFC 2045 6.7): =XX escapes, soft line
// breaks, and trailing blanks on a line (transport padding) removed.
type qpDecoder struct {
	pend []byte // undecided tail: '=' with fewer than 2 bytes after it, or blanks
}

func (d *qpDecoder) decode(dst, p []byte) []byte {
	if len(d.pend) > 0 {
		p = append(d.pend, p...)
		d.pend = nil
	}
	// The decoded form is never longer than the input: the output is written in place of appends, which would
	// check the capacity for every byte of a text that is mostly escapes.
	base := len(dst)
	dst = slices.Grow(dst, len(p))
	out := dst[base : base+len(p)]
	w := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !qpSpecial[c] {
			out[w] = c
			w++
			continue
		}
		if c == '=' {
			if i+2 < len(p) { // the common case first: an escape
				if hi, lo := hexVal[p[i+1]], hexVal[p[i+2]]; hi|lo < 0x10 {
					out[w] = hi<<4 | lo
					w++
					i += 2
					continue
				}
			}
			rest := p[i+1:]
			if n := softBreak(rest); n > 0 {
				i += n
				continue
			}
			if qpIncomplete(rest) {
				d.pend = append(d.pend[:0], p[i:]...)
				return dst[:base+w]
			}
			out[w] = '=' // not an escape: keep it
			w++
			continue
		}
		j := i // a run of blanks: kept unless it ends a line
		for j < len(p) && (p[j] == ' ' || p[j] == '\t') {
			j++
		}
		if j == len(p) && j-i <= maxPend {
			d.pend = append(d.pend[:0], p[i:]...)
			return dst[:base+w]
		}
		if j == len(p) || (p[j] != '\r' && p[j] != '\n') {
			w += copy(out[w:], p[i:j])
		}
		i = j - 1
	}
	return dst[:base+w]
}

// qpSpecial marks the bytes qpDecoder.decode looks at; every other byte stands for itself.
var qpSpecial = [256]bool{'=': true, ' ': true, '\t': true}

// hexVal is unhex as a table: the value of a hex digit, 0xff for any other byte.
var hexVal = func() (t [256]byte) {
	for c := range t {
		v, ok := unhex(byte(c))
		if !ok {
			v = 0xff
		}
		t[c] = v
	}
	return t
}()

// maxPend bounds what a decoder holds back across chunks, so a long run of
// blanks cannot make every chunk re-copy it.
const maxPend = 1024

// softBreak returns the length of blanks plus a line break at the start of
// b (what follows '=' in a soft line break), or 0.
func softBreak(b []byte) int {
	j := 0
	for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
		j++
	}
	switch {
	case j < len(b) && b[j] == '\n':
		return j + 1
	case j+1 < len(b) && b[j] == '\r' && b[j+1] == '\n':
		return j + 2
	}
	return 0
}

// qpIncomplete reports whether what follows '=' could still become an
// escape or a soft break once more input arrives.
func qpIncomplete(rest []byte) bool {
	switch {
	case len(rest) > maxPend:
		return false
	case len(rest) == 0:
		return true
	case len(rest) == 1 && isHex(rest[0]):
		return true
	}
	j := 0
	for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t') {
		j++
	}
	return j == len(rest) || (rest[j] == '\r' && j+1 == len(rest))
}

func isHex(c byte) bool {
	_, ok := unhex(c)
	return ok
}

func (d *qpDecoder) flush(dst []byte) []byte {
	p := d.pend
	d.pend = nil
	if len(p) > 0 && p[0] == '=' {
		if len(bytes.Trim(p[1:], " \t\r")) == 0 {
			return dst // a soft break at the very end of the input
		}
		return append(dst, p...) // "=A" at the end is not an escape
	}
	return dst // trailing blanks at the end of input are padding
}

// decodeAll decodes a whole in-memory body, stopping once limit (>0) bytes are
// out, used for the search text.
func decodeAll(enc string, body []byte, limit int) []byte {
	return appendDecoded(nil, enc, body, limit)
}

// appendDecoded is decodeAll appending to dst, so that the parts of a message can reuse one buffer. For the
// identity encodings it returns (part of) body itself.
func appendDecoded(dst []byte, enc string, body []byte, limit int) []byte {
	d, err := newDecoder(enc)
	if err != nil || d == nil {
		if limit > 0 && len(body) > limit {
			body = body[:limit]
		}
		return body
	}
	const chunk = 32 << 10
	out := slices.Grow(dst, min(len(body), limit+chunk))
	start := len(out)
	for len(body) > 0 && (limit <= 0 || len(out)-start < limit) {
		n := min(chunk, len(body))
		out = d.decode(out, body[:n])
		body = body[n:]
	}
	if len(body) == 0 {
		out = d.flush(out)
	}
	return out
}
