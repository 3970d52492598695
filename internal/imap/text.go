package imap

import (
	"bytes"

	"mailserver/internal/message"
)

// The stored search text (store.NewMessage.Text) keeps header and body text apart, because SEARCH BODY looks at the
// body only and SEARCH TEXT at both (RFC 3501 6.4.4):
//
//	Fold(header field values, one per line) NUL Fold(body text, one source per line)
//
// Folded text never contains NUL (message.Fold turns control characters into spaces), so the first NUL is the
// boundary. Text without a NUL (stored by an older writer as header "\n" body) counts as both header and body: BODY
// may then also match header text, never miss body text.

// SearchText builds the stored search text of a parsed message. internal/delivery writes the same encoding (its
// searchText); the format belongs in internal/message once that package exports it.
func SearchText(p *message.Parsed) []byte {
	out := make([]byte, 0, len(p.HeaderText)+1+len(p.BodyText))
	out = append(out, p.HeaderText...)
	out = append(out, 0)
	return append(out, p.BodyText...)
}

// splitSearchText returns the header and body parts of a stored search text.
func splitSearchText(text []byte) (header, body []byte) {
	if i := bytes.IndexByte(text, 0); i >= 0 {
		return text[:i], text[i+1:]
	}
	return text, text
}
