package message

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// DisplayedMailbox is one mailbox of an address field as a reader sees it: its address, and the e-mail addresses
// that the text shown beside it (display name, comments, the name of its group) shows.
type DisplayedMailbox struct {
	// Address is the addr-spec without angle brackets, a quoted local part unquoted; "" for a group name without
	// members.
	Address string
	// Shown lists the addresses the mailbox's text shows (AddressesShown); nil for most mailboxes.
	Shown []string
}

// DisplayedAddresses reads an address field (its raw value, as FieldValues gives it) the way a reader's eye does:
// for every mailbox, the address and the addresses shown beside it. Everything of a mailbox but its addr-spec is
// read as shown text, comments and group names included, since one reader or another displays each of them. It
// never fails: a part no parser accepts is read all the same, as lenient readers do.
func DisplayedAddresses(fieldValue string) []DisplayedMailbox {
	var out []DisplayedMailbox
	for _, piece := range splitAddressList(fieldValue) {
		if strings.TrimSpace(piece) == "" {
			continue
		}
		addr, text := splitMailbox(piece)
		out = append(out, DisplayedMailbox{Address: plainAddress(addr), Shown: AddressesShown(text)})
	}
	return out
}

// plainAddress is addr as the address parser reads it (a quoted local part unquoted), or as written when the
// parser refuses it.
func plainAddress(addr string) string {
	if !strings.ContainsRune(addr, '"') {
		return addr // the parser would change nothing
	}
	if a, err := addrParser.Parse("<" + addr + ">"); err == nil {
		return a.Address
	}
	return addr
}

// splitMailbox splits one mailbox of an address list into its address and the text shown beside it. The address
// is in the last angle brackets outside quotes and comments; without them it is the last word of what remains once
// comments and a group's "name:" are taken out.
func splitMailbox(piece string) (addr, text string) {
	if lt, gt := angleAddr(piece); lt >= 0 {
		return strings.TrimSpace(piece[lt+1 : gt]), piece[:lt] + " " + piece[min(gt+1, len(piece)):]
	}
	rest, text := cutComments(piece)
	if colon := lastUnquoted(rest, ':'); colon >= 0 {
		text, rest = rest[:colon]+" "+text, rest[colon+1:]
	}
	// A phrase before an address without angle brackets is invalid, but lenient readers show it.
	rest = strings.TrimSpace(rest)
	if blank := max(lastUnquoted(rest, ' '), lastUnquoted(rest, '\t')); blank >= 0 {
		text, rest = rest[:blank]+" "+text, rest[blank+1:]
	}
	return rest, text
}

// angleAddr returns the positions of the last '<' outside quotes and comments and of the '>' closing it (the end
// of piece when it is not closed); lt is -1 when there is none.
func angleAddr(piece string) (lt, gt int) {
	lt = lastUnquoted(piece, '<')
	if lt < 0 {
		return -1, 0
	}
	inQuote := false
	for i := lt + 1; i < len(piece); i++ {
		switch c := piece[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case c == '>' && !inQuote:
			return lt, i
		}
	}
	return lt, len(piece)
}

// lastUnquoted returns the index of the last c in s outside quoted strings and comments, or -1.
func lastUnquoted(s string, c byte) int {
	last := -1
	outsideQuotes(s, func(i int) {
		if s[i] == c {
			last = i
		}
	})
	return last
}

// cutComments returns s without its comments, and the comments' text.
func cutComments(s string) (rest, comments string) {
	var r, c strings.Builder
	depth, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		b := s[i]
		out := &r
		if depth > 0 {
			out = &c
		}
		switch {
		case b == '\\' && (inQuote || depth > 0) && i+1 < len(s):
			out.WriteByte(b)
			i++
			b = s[i]
		case b == '"' && depth == 0:
			inQuote = !inQuote
		case inQuote:
		case b == '(':
			depth++
			out = &c
			b = ' '
		case b == ')' && depth > 0:
			depth--
			b = ' '
		}
		out.WriteByte(b)
	}
	return r.String(), c.String()
}

// AddressesShown returns the e-mail addresses (local@domain.tld) that a reader may see in text, a display name or
// comment as written in a header field. The text is read as readers display it: RFC 2047 words decoded in any
// charset this package knows (twice, as a quoted name is decoded by some readers after the address parser decoded
// it once), compatibility characters folded (Unicode NFKC: fullwidth ＠ and small ﹫ are @, fullwidth letters are
// letters), a right-to-left override's span reversed as it is drawn, and invisible format characters and the quote
// marks and backslashes of header syntax dropped. Blanks around the @ are skipped: "an.nv @ vinhyen.gov.vn" still
// reads as an address.
func AddressesShown(text string) []string {
	if !mayShowAddress(text) {
		return nil
	}
	var shown []string
	decoded := DecodeHeaderValue(text)
	readings := []string{decoded}
	if again := DecodeHeaderValue(decoded); again != decoded {
		readings = append(readings, again)
	}
	for _, r := range readings {
		for _, seen := range asDisplayed(r) {
			for _, a := range scanAddresses(seen) {
				if !slices.Contains(shown, a) {
					shown = append(shown, a)
				}
			}
		}
	}
	return shown
}

// mayShowAddress reports whether text can show an address at all: it needs an at sign, one of the two characters
// NFKC folds into one (fullwidth ＠ U+FF20, small ﹫ U+FE6B), or an encoded word that may decode to them.
func mayShowAddress(text string) bool {
	return strings.ContainsAny(text, "@\uFF20\uFE6B") || strings.Contains(text, "=?")
}

const (
	rightToLeftOverride = '\u202E'
	popDirectional      = '\u202C'
)

// asDisplayed returns s as a screen may draw it: folded (NFKC), without format characters, quotes and
// backslashes, in logical order and, when s has a right-to-left override, also with its spans reversed: a
// renderer that honours the override draws "\u202Env.vog.neyhniv@na" as "an@vinhyen.gov.vn".
func asDisplayed(s string) []string {
	s = norm.NFKC.String(s)
	forms := []string{visibleOnly(s)}
	if strings.ContainsRune(s, rightToLeftOverride) {
		forms = append(forms, visibleOnly(reverseOverrides(s)))
	}
	return forms
}

// visibleOnly drops what is drawn as nothing (format characters such as zero-width spaces and joiners,
// bidirectional controls and soft hyphens; variation selectors; Hangul fillers and the other default-ignorable
// code points) and the quote marks and backslashes that header syntax adds around a name, and turns control
// characters into blanks.
func visibleOnly(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '"' || r == '\\' || isInvisible(r):
			return -1
		case unicode.IsControl(r):
			return ' '
		}
		return r
	}, s)
}

func isInvisible(r rune) bool {
	return r >= utf8.RuneSelf && unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// reverseOverrides reverses the runes of every span from a right-to-left override to the next pop directional
// formatting character (or the end of s), as the override draws them.
func reverseOverrides(s string) string {
	runes := []rune(s)
	for i := 0; i < len(runes); i++ {
		if runes[i] != rightToLeftOverride {
			continue
		}
		end := i + 1
		for end < len(runes) && runes[end] != popDirectional {
			end++
		}
		slices.Reverse(runes[i+1 : end])
		i = end
	}
	return string(runes)
}

// scanAddresses returns every local@domain.tld in s, with blanks around the @ left out.
func scanAddresses(s string) []string {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] != '@' {
			continue
		}
		local := localBefore(s[:i])
		domain := domainAfter(s[i+1:])
		if local != "" && isShownDomain(domain) {
			out = append(out, local+"@"+domain)
		}
	}
	return out
}

// localBefore returns the local part that ends s, blanks before the @ skipped.
func localBefore(s string) string {
	s = strings.TrimRightFunc(s, unicode.IsSpace)
	start := len(s)
	for start > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:start])
		if !isLocalRune(r) {
			break
		}
		start -= n
	}
	return strings.Trim(s[start:], ".")
}

// domainAfter returns the domain that begins s, blanks after the @ skipped, without a trailing dot or hyphen (the
// end of a sentence).
func domainAfter(s string) string {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	end := 0
	for end < len(s) {
		r, n := utf8.DecodeRuneInString(s[end:])
		if !isDomainRune(r) {
			break
		}
		end += n
	}
	return strings.TrimRight(s[:end], ".-")
}

// isLocalRune reports whether r may be part of a local part: RFC 5322 atext and the dot, and the letters, digits
// and marks of an internationalised address (RFC 6531).
func isLocalRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
	}
	return isLetterDigitMark(r)
}

func isDomainRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '.' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}
	return isLetterDigitMark(r)
}

func isLetterDigitMark(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// isShownDomain reports whether d reads as a domain with a top-level label: two or more labels, none empty, the
// last at least two characters long and starting with a letter (no top-level domain is numeric, RFC 1123 2.1).
func isShownDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 || slices.Contains(labels, "") {
		return false
	}
	tld := labels[len(labels)-1]
	first, _ := utf8.DecodeRuneInString(tld)
	return utf8.RuneCountInString(tld) >= 2 && unicode.IsLetter(first)
}
