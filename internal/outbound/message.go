package outbound

import (
	"bytes"
	"strings"
)

// has8bit reports whether b has a byte outside US-ASCII.
func has8bit[T string | []byte](b T) bool {
	for i := 0; i < len(b); i++ {
		if b[i] >= 0x80 {
			return true
		}
	}
	return false
}

// header is the header section of a message: everything before the first empty line.
func header(message []byte) []byte {
	if i := bytes.Index(message, []byte("\r\n\r\n")); i >= 0 {
		return message[:i]
	}
	if i := bytes.Index(message, []byte("\n\n")); i >= 0 {
		return message[:i]
	}
	return message
}

// validPath reports whether an address can go between the angle brackets of a MAIL or RCPT command as it is:
// a line break would end the command and a '>' would add parameters to it.
func validPath(addr string) bool {
	return !strings.ContainsFunc(addr, func(r rune) bool {
		return r < 0x20 || r == 0x7f || r == '<' || r == '>'
	})
}
