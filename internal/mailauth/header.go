package mailauth

import (
	"strings"
)

// Header returns the results as an Authentication-Results header field (RFC 8601), CRLF-terminated, one result
// per line, ready to prepend to the message. Values from the message (domains, selectors, reasons) are reduced to
// characters that cannot end a result or the field, nor fool a parser that splits at ";" and spaces.
func (r Result) Header() string {
	results := [][]string{spfWords(r.SPF)}
	if len(r.DKIM) == 0 {
		results = append(results, []string{"dkim=none"})
	}
	for _, d := range r.DKIM {
		results = append(results, dkimWords(d))
	}
	results = append(results, dmarcWords(r.DMARC))

	var b strings.Builder
	id := token(r.AuthServID)
	if id == "" {
		id = `""`
	}
	b.WriteString("Authentication-Results: " + id)
	for _, words := range results {
		b.WriteString(";\r\n\t")
		col := 8
		for i, w := range words {
			if i > 0 && col+1+len(w) >= maxLine {
				b.WriteString("\r\n\t")
				col = 8
			} else if i > 0 {
				b.WriteByte(' ')
				col++
			}
			b.WriteString(w)
			col += len(w)
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// maxLine is where lines are folded (RFC 5322 2.1.1), counting a tab as 8 columns.
const maxLine = 78

func spfWords(s SPFResult) []string {
	prop := "smtp.mailfrom"
	if s.Identity == "helo" {
		prop = "smtp.helo"
	}
	return withProp(withComment([]string{"spf=" + keyword(s.Result)}, s.Result, s.Reason), prop, s.Domain)
}

func dkimWords(d DKIMResult) []string {
	words := withComment([]string{"dkim=" + keyword(d.Result)}, d.Result, d.Reason)
	return withProp(withProp(words, "header.d", d.Domain), "header.s", d.Selector)
}

func dmarcWords(d DMARCResult) []string {
	words := []string{"dmarc=" + keyword(d.Result)}
	if keyword(d.Result) == "fail" && d.Policy != "" {
		words = append(words, "(p="+keyword(d.Policy)+")")
	}
	return withProp(withComment(words, d.Result, d.Reason), "header.from", d.Domain)
}

// keyword is a result or policy name; anything else (which no check produces) reads as none.
func keyword(s string) string {
	s = strings.ToLower(s)
	if s == "" || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz") != "" {
		return "none"
	}
	return s
}

// withProp appends a property; an empty value is left out.
func withProp(words []string, name, value string) []string {
	if v := token(value); v != "" {
		words = append(words, name+"="+v)
	}
	return words
}

// token makes value an RFC 2045 token, the form domains and selectors take, by replacing every other byte (space,
// control characters, non-ASCII, tspecials such as ";" and "=") with "_". It is cut at the length of a domain name.
func token(value string) string {
	b := []byte(value[:min(len(value), 253)])
	for i, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			b[i] = '_'
		}
	}
	return string(b)
}

// withComment appends the reason of a result other than pass as a comment, reduced to letters, digits, spaces and
// harmless punctuation (no parentheses, "=" or ";") and cut short.
func withComment(words []string, result, reason string) []string {
	if keyword(result) == "pass" {
		return words
	}
	safe := strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune(" .,:/_-'+@", r)) {
			return r
		}
		return ' '
	}, reason)
	comment := strings.Fields(safe[:min(len(safe), 100)])
	if len(comment) == 0 {
		return words
	}
	comment[0] = "(" + comment[0]
	comment[len(comment)-1] += ")"
	return append(words, comment...)
}
