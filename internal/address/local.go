package address

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// readWrittenLocal reads a local part as written: a dot-atom, or a quoted string whose content it returns. The
// second result says what is wrong, or is "".
func readWrittenLocal(written string) (string, string) {
	if !strings.HasPrefix(written, `"`) {
		local := norm.NFC.String(written)
		if reason := contentProblem(local); reason != "" {
			return "", reason
		}
		return local, dotAtomProblem(local)
	}
	content, reason := unquote(written)
	if reason != "" {
		return "", reason
	}
	return readUnquotedLocal(content)
}

// readUnquotedLocal reads a local part already taken out of its quotes.
func readUnquotedLocal(content string) (string, string) {
	local := norm.NFC.String(content)
	return local, contentProblem(local)
}

// unquote returns the content of a quoted string (RFC 5321 Quoted-string: a backslash escapes the next printable
// ASCII character).
func unquote(q string) (string, string) {
	const unclosed = `the quotes before '@' are not closed: write a quote or backslash inside them as \" or \\`
	if len(q) < 2 || q[len(q)-1] != '"' {
		return "", unclosed
	}
	var b strings.Builder
	inner := q[1 : len(q)-1]
	for i := 0; i < len(inner); i++ {
		switch c := inner[i]; {
		case c == '"':
			return "", unclosed
		case c != '\\':
			b.WriteByte(c)
		case i+1 < len(inner) && inner[i+1] >= ' ' && inner[i+1] <= '~':
			i++
			b.WriteByte(inner[i])
		default:
			return "", unclosed
		}
	}
	return b.String(), ""
}

// contentProblem checks the characters of a local part without its quotes: printable ASCII, and letters, digits and
// combining marks of any script.
func contentProblem(local string) string {
	if local == "" {
		return "the part before '@' is empty"
	}
	for _, r := range local {
		if !(r >= ' ' && r <= '~' || r >= utf8.RuneSelf && isIntlAtext(r)) {
			return fmt.Sprintf("the part before '@' cannot contain %q (%U)", r, r)
		}
	}
	return ""
}

// dotAtomProblem explains why local cannot stand without quotes, or returns "".
func dotAtomProblem(local string) string {
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return "dots must separate words: not at the start or end, and never two in a row"
	}
	for _, r := range local {
		if r != '.' && !isAtext(r) {
			return fmt.Sprintf("the part before '@' cannot contain %q unless it is in quotes", r)
		}
	}
	return ""
}

// quoteLocal writes a local part as RFC 5321 wants it: as it is when it is a dot-atom, otherwise quoted.
func quoteLocal(local string) string {
	if local != "" && dotAtomProblem(local) == "" {
		return local
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(local); i++ {
		if local[i] == '"' || local[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(local[i])
	}
	b.WriteByte('"')
	return b.String()
}

// isAtext reports whether r may appear in a dot-atom (RFC 5322 atext, widened by RFC 6531).
func isAtext(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case r >= utf8.RuneSelf:
		return isIntlAtext(r)
	}
	return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

// isIntlAtext reports whether a non-ASCII r may appear in a local part: letters, digits and combining marks, not
// spaces, symbols, or invisible and bidirectional controls that would make an address look like another.
func isIntlAtext(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// newLocalProblem explains why a local part as written cannot be given to something created here, or returns "".
// Dots and length are Parse's to check.
func newLocalProblem(written string) string {
	for i := 0; i < len(written); i++ {
		c := written[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-+", c) >= 0) {
			return "before '@' use only letters without diacritics, digits and . _ - +"
		}
	}
	return ""
}
