package message

import "bytes"

// The stored search text keeps header and body text apart, because SEARCH BODY looks at the body only and SEARCH
// TEXT at both (RFC 3501 6.4.4):
//
//	HeaderText NUL BodyText
//
// Folded text never contains NUL (Fold turns control characters into spaces), so the first NUL is the boundary.

// SearchText is the search text to store with the message, read back with SplitSearchText.
func (p *Parsed) SearchText() []byte {
	out := make([]byte, 0, len(p.HeaderText)+1+len(p.BodyText))
	out = append(out, p.HeaderText...)
	out = append(out, 0)
	return append(out, p.BodyText...)
}

// SplitSearchText returns the header and body parts of a stored search text. Text without a NUL counts as both, so
// BODY may over-match such text but never misses.
func SplitSearchText(text []byte) (header, body []byte) {
	if i := bytes.IndexByte(text, 0); i >= 0 {
		return text[:i], text[i+1:]
	}
	return text, text
}
