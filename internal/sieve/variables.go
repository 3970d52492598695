package sieve

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxVariableBytes bounds a variable's value and an expanded string; longer values are cut at a character
// boundary, as RFC 5229 section 3 allows, so that doubling a variable in a loop of sets cannot exhaust memory.
const maxVariableBytes = 64 << 10

// expand replaces ${name} and ${digit} by their values when the script requires "variables" (RFC 5229
// section 3); an unknown variable is the empty string and a malformed reference stays as written.
func (r *run) expand(s string) string {
	if !r.s.variables || !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			b.WriteString(s[i:])
			break
		}
		name := s[i+2 : i+end]
		if value, ok := r.lookup(name); ok {
			b.WriteString(value)
			s = s[i+end+1:]
		} else {
			b.WriteString("${")
			s = s[i+2:]
		}
		if b.Len() > maxVariableBytes {
			break
		}
	}
	return truncateUTF8(b.String(), maxVariableBytes)
}

// lookup reads a variable reference; ok is false when name is not a valid reference.
func (r *run) lookup(name string) (string, bool) {
	if name != "" && name[0] >= '0' && name[0] <= '9' {
		n, err := strconv.Atoi(name)
		if err != nil {
			return "", false
		}
		if n < len(r.captures) {
			return r.captures[n], true
		}
		return "", true
	}
	if !validVariableName(name) {
		return "", false
	}
	return r.vars[strings.ToLower(name)], true
}

func (r *run) expandAll(list []string) []string {
	if !r.s.variables {
		return list // nothing to expand: the script's own strings, which no caller changes
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = r.expand(s)
	}
	return out
}

func (r *run) setVar(name, value string) {
	r.vars[strings.ToLower(name)] = truncateUTF8(value, maxVariableBytes)
}

// set applies the modifiers from the highest precedence down (RFC 5229 section 4.1).
func (r *run) set(c *cmd) error {
	value := r.expand(c.args[1].strs[0])
	if err := r.charge(len(value) / 1024); err != nil {
		return err
	}
	has := func(tag string) bool { _, ok := c.tags[tag]; return ok }
	switch {
	case has("lower"):
		value = strings.ToLower(value)
	case has("upper"):
		value = strings.ToUpper(value)
	}
	switch {
	case has("lowerfirst"):
		value = mapFirst(value, unicode.ToLower)
	case has("upperfirst"):
		value = mapFirst(value, unicode.ToUpper)
	}
	if has("quotewildcard") {
		value = quoteWildcards(value)
	}
	if has("length") {
		value = strconv.Itoa(utf8.RuneCountInString(value))
	}
	r.setVar(c.args[0].strs[0], value)
	return nil
}

func mapFirst(s string, f func(rune) rune) string {
	first, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(f(first)) + s[n:]
}

func quoteWildcards(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '*' || c == '?' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
