package imap

import (
	"strings"

	"mailserver/internal/store"
)

// listPattern is a compiled LIST pattern (RFC 3501 6.3.8): "*" matches any run of characters, "%" any run without
// the hierarchy delimiter. Matching simulates the pattern's automaton with one bit per position, so a name of
// length n is matched in O(n × ⌈m/64⌉) steps for a pattern of m characters, however the wildcards are arranged.
// (imapserver.MatchList backtracks and is exponential in the number of wildcards.)
type listPattern struct {
	n     int               // tokens; states are 0..n, state i = "the first i tokens matched"
	lit   map[byte][]uint64 // bit i: token i is this literal byte (state i → i+1 on it)
	star  []uint64          // bit i: token i-1 is "*" (state i loops on any byte)
	pct   []uint64          // bit i: token i-1 is "%" (state i loops on any byte but the delimiter)
	wild  []uint64          // bit i: token i is a wildcard (state i → i+1 without input)
	start []uint64          // the initial state set
	words int
}

// compileListPattern compiles pattern. Runs of wildcards collapse ("%*" is "*", "%%" is "%"), so one epsilon step
// closes a state set.
func compileListPattern(pattern string) *listPattern {
	var toks []byte
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if (c == '*' || c == '%') && len(toks) > 0 && isWildcard(toks[len(toks)-1]) {
			if c == '*' {
				toks[len(toks)-1] = '*'
			}
			continue
		}
		toks = append(toks, c)
	}
	p := &listPattern{n: len(toks), lit: map[byte][]uint64{}, words: len(toks)/64 + 1}
	p.star, p.pct, p.wild, p.start = p.bitset(), p.bitset(), p.bitset(), p.bitset()
	for i, c := range toks {
		switch c {
		case '*':
			setBit(p.wild, i)
			setBit(p.star, i+1)
		case '%':
			setBit(p.wild, i)
			setBit(p.pct, i+1)
		default:
			if p.lit[c] == nil {
				p.lit[c] = p.bitset()
			}
			setBit(p.lit[c], i)
		}
	}
	setBit(p.start, 0)
	p.close(p.start)
	return p
}

func isWildcard(c byte) bool { return c == '*' || c == '%' }

func (p *listPattern) bitset() []uint64 { return make([]uint64, p.words) }

func setBit(b []uint64, i int) { b[i/64] |= 1 << (i % 64) }

// close adds the states reachable through wildcards matching nothing.
func (p *listPattern) close(d []uint64) {
	var carry uint64
	for w := range d {
		moved := d[w] & p.wild[w]
		d[w] |= moved<<1 | carry
		carry = moved >> 63
	}
}

// match reports whether the whole of name matches.
func (p *listPattern) match(name string) bool {
	cur, next := p.bitset(), p.bitset()
	copy(cur, p.start)
	for i := 0; i < len(name); i++ {
		c := name[i]
		lit := p.lit[c]
		var carry uint64
		any := uint64(0)
		for w := range cur {
			var step uint64
			if lit != nil {
				step = cur[w] & lit[w]
			}
			v := step<<1 | carry | cur[w]&p.star[w]
			if c != store.Delimiter {
				v |= cur[w] & p.pct[w]
			}
			carry = step >> 63
			next[w] = v
			any |= v
		}
		if any == 0 {
			return false
		}
		p.close(next)
		cur, next = next, cur
	}
	return cur[p.n/64]&(1<<(p.n%64)) != 0
}

// listMatcher matches mailbox names against a LIST reference and patterns.
type listMatcher struct {
	patterns []*listPattern
	folded   []*listPattern // the same patterns in lower case, for the case-insensitive name INBOX
}

// newListMatcher combines reference and patterns as RFC 3501 6.3.8 describes: the reference is prefixed to each
// pattern, unless the pattern starts with the delimiter (then it stands alone; names here have no leading
// delimiter, so it is dropped). A leading "INBOX" level is case-insensitive.
func newListMatcher(ref string, patterns []string) *listMatcher {
	m := &listMatcher{}
	for _, pat := range patterns {
		full := ref + pat
		if strings.HasPrefix(pat, string(store.Delimiter)) {
			full = pat[1:]
		}
		full = canonicalInbox(full)
		m.patterns = append(m.patterns, compileListPattern(full))
		m.folded = append(m.folded, compileListPattern(strings.ToLower(full)))
	}
	return m
}

// canonicalInbox spells a leading INBOX level of a pattern as "INBOX".
func canonicalInbox(pattern string) string {
	if len(pattern) >= 5 && strings.EqualFold(pattern[:5], "INBOX") &&
		(len(pattern) == 5 || pattern[5] == store.Delimiter) {
		return "INBOX" + pattern[5:]
	}
	return pattern
}

func (m *listMatcher) match(name string) bool {
	for i, p := range m.patterns {
		if p.match(name) || name == "INBOX" && m.folded[i].match("inbox") {
			return true
		}
	}
	return false
}
