package sieve

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"mailserver/internal/message"
)

// ViFoldComparator is this server's comparator that folds Vietnamese: case, diacritics and đ are folded by
// message.Fold, so "bao cao" equals "Báo cáo". A script requires it as "comparator-vnd-mailserver-vi-fold".
const ViFoldComparator = "vnd-mailserver-vi-fold"

type comparator int

const (
	cmpCasemap comparator = iota // i;ascii-casemap, the default (RFC 5228 section 2.7.3)
	cmpOctet
	cmpNumeric
	cmpViFold
)

var comparatorNames = map[string]comparator{
	"i;ascii-casemap": cmpCasemap, "i;octet": cmpOctet, "i;ascii-numeric": cmpNumeric, ViFoldComparator: cmpViFold,
}

type matchKind int

const (
	matchIs matchKind = iota
	matchContains
	matchMatches
	matchCount
	matchValue
)

// matcher is a test's comparator, match type and relational operator, fixed when the script is compiled.
type matcher struct {
	cmp  comparator
	kind matchKind
	rel  string // for :count and :value: gt ge lt le eq ne
}

// canon is the form of s that the comparator compares byte by byte.
func (m matcher) canon(s string) string {
	switch m.cmp {
	case cmpCasemap:
		return asciiLower(s)
	case cmpViFold:
		return message.Fold(s)
	}
	return s
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// matchOne compares one value with one key; for :matches, captures receives ${0}..${9} on success.
func (m matcher) matchOne(value, key string, captures *[]string) bool {
	switch m.kind {
	case matchIs:
		if m.cmp == cmpNumeric {
			return compareNumeric(value, key) == 0
		}
		return m.canon(value) == m.canon(key)
	case matchContains:
		return strings.Contains(m.canon(value), m.canon(key))
	case matchMatches:
		text, orig := m.canon(value), value
		if len(text) != len(value) || m.cmp == cmpViFold {
			orig = text // folding moved the bytes: the variables are cut from the folded text
		}
		return globCapture(m.canon(key), text, orig, captures)
	case matchValue:
		return relate(m.rel, m.compare(value, key))
	}
	return false
}

// compare orders two values by the comparator (RFC 4790 section 4.2).
func (m matcher) compare(a, b string) int {
	if m.cmp == cmpNumeric {
		return compareNumeric(a, b)
	}
	return strings.Compare(m.canon(a), m.canon(b))
}

func relate(op string, c int) bool {
	switch op {
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	}
	return false
}

// compareNumeric orders strings by their leading digits, as i;ascii-numeric does (RFC 4790 section 9.1): a string
// that does not start with a digit is positive infinity, equal to any other such string.
func compareNumeric(a, b string) int {
	da, db := leadingDigits(a), leadingDigits(b)
	switch {
	case da == "" && db == "":
		return 0
	case da == "":
		return 1
	case db == "":
		return -1
	}
	da, db = strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
	if len(da) != len(db) {
		if len(da) < len(db) {
			return -1
		}
		return 1
	}
	return strings.Compare(da, db)
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// countMatches compares the number of values with each key (RFC 5231 section 4.2), numerically.
func (m matcher) countMatches(n int, keys []string) bool {
	count := strconv.Itoa(n)
	for _, k := range keys {
		if relate(m.rel, compareNumeric(count, k)) {
			return true
		}
	}
	return false
}

type globToken struct {
	kind byte // 'l' a literal byte, '?' one character, '*' any run
	lit  byte
}

func globTokens(pattern string) []globToken {
	toks := make([]globToken, 0, len(pattern))
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			toks = append(toks, globToken{kind: '*'})
		case '?':
			toks = append(toks, globToken{kind: '?'})
		case '\\':
			if i+1 < len(pattern) {
				i++
			}
			toks = append(toks, globToken{kind: 'l', lit: pattern[i]})
		default:
			toks = append(toks, globToken{kind: 'l', lit: c})
		}
	}
	return toks
}

// globCapture matches text against a :matches pattern (RFC 5228 section 2.7.1) in O(len(pattern)*len(text)) at
// worst: a mismatch backtracks only to the last star, which then takes one more character, since what earlier
// stars took can never need to change. Each star takes as little as it can, the leftmost first, which is what
// RFC 5229 section 3.2 expects of match variables. orig is the text as written, of the same length as text, from
// which the match variables are cut.
func globCapture(pattern, text, orig string, captures *[]string) bool {
	toks := globTokens(pattern)
	starts := make([]int, len(toks)+1)
	ti, pi, star, starText := 0, 0, -1, 0
	for ti < len(text) {
		if pi < len(toks) {
			t := toks[pi]
			switch {
			case t.kind == '*':
				star, starText, starts[pi] = pi, ti, ti
				pi++
				continue
			case t.kind == '?':
				starts[pi] = ti
				_, n := utf8.DecodeRuneInString(text[ti:])
				ti += n
				pi++
				continue
			case text[ti] == t.lit:
				starts[pi] = ti
				ti++
				pi++
				continue
			}
		}
		if star < 0 {
			return false
		}
		_, n := utf8.DecodeRuneInString(text[starText:])
		starText += n
		ti, pi = starText, star+1
	}
	for pi < len(toks) && toks[pi].kind == '*' {
		starts[pi] = ti
		pi++
	}
	if pi != len(toks) {
		return false
	}
	starts[len(toks)] = len(text)
	if captures != nil {
		caps := append((*captures)[:0], orig)
		for i, t := range toks {
			if t.kind != 'l' && len(caps) < 10 {
				caps = append(caps, orig[starts[i]:starts[i+1]])
			}
		}
		*captures = caps
	}
	return true
}
