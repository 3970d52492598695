package message

import (
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

// Search terms are what the store's search index keys its postings by: the maximal runs of word characters
// (letters, marks and numbers) of folded text (Fold). The same definition splits the text that is indexed and the
// needle that is looked up, which is what lets a word index answer substring searches exactly: a needle made of
// word characters only occurs in a text if and only if it is a substring of one of the text's terms.

// IsWordRune tells whether r belongs to a search term.
func IsWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || 'A' <= r && r <= 'Z'
	}
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r))
}

// Term is one run of word characters of a text, with whether a separator (or the text's edge) comes right before
// and right after it.
type Term struct {
	Text           []byte
	AtStart, AtEnd bool // the run touches the text's first or last byte
}

// EachTerm calls fn with each term of folded text, in order. The Text of a Term is a slice of text. Folded text is
// mostly ASCII (Fold takes Latin letters there), which is split byte by byte with a table; other runes are decoded.
func EachTerm(text []byte, fn func(Term)) {
	start := -1
	for i := 0; i < len(text); {
		c := text[i]
		word := asciiWord[c]
		n := 1
		if c >= utf8.RuneSelf {
			var r rune
			r, n = utf8.DecodeRune(text[i:])
			word = IsWordRune(r)
		}
		switch {
		case word:
			if start < 0 {
				start = i
			}
			i += n
			for i < len(text) && asciiWord[text[i]] { // the rest of an ASCII run at once
				i++
			}
			continue
		case start >= 0:
			fn(Term{Text: text[start:i], AtStart: start == 0})
			start = -1
		}
		i += n
	}
	if start >= 0 {
		fn(Term{Text: text[start:], AtStart: start == 0, AtEnd: true})
	}
}

// asciiWord is IsWordRune for the ASCII bytes, false for every other byte.
var asciiWord = func() (t [256]bool) {
	for c := range utf8.RuneSelf {
		t[c] = IsWordRune(rune(c))
	}
	return t
}()

// EnvelopeSearchTexts are the texts SEARCH FROM, TO, CC and BCC compare a needle with, one per address of the
// field (RFC 3501 6.4.4 leaves the form to the server): "Name <mailbox@host>", or a group's name (RFC 3501 7.4.2),
// folded; SUBJECT compares with the folded subject. field is "From", "To", "Cc", "Bcc" or "Subject".
func EnvelopeSearchTexts(env *imap.Envelope, field string) []string {
	if env == nil {
		return nil
	}
	var list []imap.Address
	switch field {
	case "Subject":
		return []string{Fold(env.Subject)}
	case "From":
		list = env.From
	case "To":
		list = env.To
	case "Cc":
		list = env.Cc
	case "Bcc":
		list = env.Bcc
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		switch {
		case a.IsGroupEnd():
		case a.IsGroupStart():
			out = append(out, Fold(a.Mailbox))
		default:
			out = append(out, Fold(a.Name+" <"+a.Addr()+">"))
		}
	}
	return out
}
