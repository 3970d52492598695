package provision

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// maxLocalPart is the longest local part an address may have (RFC 5321 section 4.5.3.1.1).
const maxLocalPart = 64

// Style is how a NameRule builds a local part from a full name.
type Style string

// The styles, each shown with what it makes of "Nguyễn Văn An". One-word names give the word alone in every style.
const (
	StyleGivenInitials    Style = "given-initials" // annv: given name, then initials of family and middle names
	StyleGivenDotInitials Style = "given.initials" // an.nv
	StyleGivenDotFamily   Style = "given.family"   // an.nguyenvan: given name, dot, family and middle names
	StyleFull             Style = "full"           // nguyenvanan: the whole name in its order
)

// Styles lists every style, the default first.
var Styles = []Style{StyleGivenInitials, StyleGivenDotInitials, StyleGivenDotFamily, StyleFull}

// DefaultFirstNumber is the number the second person with the same address gets: annv, annv2, annv3.
const DefaultFirstNumber = 2

// NameRule turns a Vietnamese full name into the local part of an address. The zero value is the default rule:
// StyleGivenInitials, duplicates numbered from 2 ("annv", "annv2", "annv3").
type NameRule struct {
	Style Style // "" means StyleGivenInitials
	// FirstNumber is appended for the first duplicate, then counted up; 0 means DefaultFirstNumber. Set 1 for
	// "annv", "annv1", "annv2".
	FirstNumber int
}

// ParseNameRule returns the rule of the named style ("given-initials", "given.initials", "given.family" or
// "full"; "" for the default) with the default numbering, for a command-line flag.
func ParseNameRule(style string) (NameRule, error) {
	r := NameRule{Style: Style(strings.ToLower(strings.TrimSpace(style)))}
	return r, r.check()
}

func (r NameRule) check() error {
	switch r.Style {
	case "", StyleGivenInitials, StyleGivenDotInitials, StyleGivenDotFamily, StyleFull:
	default:
		return fmt.Errorf("unknown name rule %q: use %s", r.Style, stylesList())
	}
	if r.FirstNumber < 0 {
		return fmt.Errorf("name rule: the first duplicate number must be 1 or more, not %d", r.FirstNumber)
	}
	return nil
}

func stylesList() string {
	names := make([]string, len(Styles))
	for i, s := range Styles {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// String describes the rule with an example, e.g. `given-initials (Nguyễn Văn An → annv, annv2, annv3)`.
func (r NameRule) String() string {
	if r.check() != nil {
		return fmt.Sprintf("invalid name rule %q", string(r.Style))
	}
	base, _ := r.LocalPart("Nguyễn Văn An")
	return fmt.Sprintf("%s (Nguyễn Văn An → %s, %s, %s)", r.style(), base, r.numbered(base, 1), r.numbered(base, 2))
}

func (r NameRule) style() Style {
	if r.Style == "" {
		return StyleGivenInitials
	}
	return r.Style
}

// LocalPart returns the local part that fullName gets when no one has it yet. The error says why a name gives
// no usable address (no letters or digits, or longer than 64 characters).
func (r NameRule) LocalPart(fullName string) (string, error) {
	if err := r.check(); err != nil {
		return "", err
	}
	var words []string
	for _, w := range strings.Fields(fullName) {
		if f := fold(w); f != "" {
			words = append(words, f)
		}
	}
	if len(words) == 0 {
		return "", fmt.Errorf("cannot make an address from %q: it has no letters; write one in column address", fullName)
	}
	local := r.join(words)
	if len(local) > maxLocalPart {
		return "", fmt.Errorf("the address made from %q would be longer than %d characters; write one in column address",
			fullName, maxLocalPart)
	}
	return local, nil
}

// join builds the local part from folded words in Vietnamese order: family, middle names, given name.
func (r NameRule) join(words []string) string {
	given := words[len(words)-1]
	if len(words) == 1 {
		return given
	}
	others := words[:len(words)-1] // family name, then middle names
	var initials, full strings.Builder
	for _, w := range others {
		initials.WriteByte(w[0])
		full.WriteString(w)
	}
	switch r.style() {
	case StyleGivenDotInitials:
		return given + "." + initials.String()
	case StyleGivenDotFamily:
		return given + "." + full.String()
	case StyleFull:
		return full.String() + given
	}
	return given + initials.String()
}

// numbered returns the local part of the k-th duplicate of base (k ≥ 1): base followed by FirstNumber+k-1.
func (r NameRule) numbered(base string, k int) string {
	first := r.FirstNumber
	if first == 0 {
		first = DefaultFirstNumber
	}
	return base + strconv.Itoa(first+k-1)
}

// fold returns s in lower-case ASCII letters and digits: diacritics removed (compatibility decomposition, then
// the marks dropped, so NFC and NFD input fold alike), đ and Đ as d, and every other character left out.
func fold(s string) string {
	var b strings.Builder
	for _, c := range norm.NFKD.String(s) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			b.WriteRune(c - 'A' + 'a')
		case c == 'đ' || c == 'Đ' || c == 'ð' || c == 'Ð': // Ð (eth) is a common mistyping of Đ
			b.WriteByte('d')
		}
	}
	return b.String()
}
