package message

import (
	"bytes"
	"strings"
)

// field is one header field of a header block. Offsets are relative to the
// slice the field was parsed from.
type field struct {
	name  string // as written, trailing blanks removed
	value string // unfolded like go-message does: lines trimmed, joined by one space
	start int    // first byte of the field
	end   int    // byte after the field's last line break
}

// headerEnd returns the length of the header block at the start of b,
// including the blank line that ends it, or len(b) when there is none (a
// message without a body). A line holding only blanks is a continuation line,
// not the end of the header, as in go-message.
func headerEnd(b []byte) int {
	i := 0
	for i < len(b) {
		if b[i] == '\n' {
			return i + 1
		}
		if b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			return i + 2
		}
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return len(b)
		}
		i += j + 1
	}
	return len(b)
}

// lineEnd returns the index after the line break of the line starting at i.
func lineEnd(b []byte, i int) int {
	j := bytes.IndexByte(b[i:], '\n')
	if j < 0 {
		return len(b)
	}
	return i + j + 1
}

func isBlankLine(line []byte) bool {
	return len(line) == 0 || line[0] == '\n' || (line[0] == '\r' && (len(line) == 1 || line[1] == '\n'))
}

// parseFields splits a header block into fields. Lines that cannot be a field
// (no colon, bad name, a continuation with nothing before it) are skipped
// rather than ending the header: real mail has them and the rest of the header
// is still worth reading. Only the first limit bytes are looked at.
func parseFields(b []byte, limit int) []field {
	if limit > 0 && len(b) > limit {
		b = b[:limit]
	}
	fs := make([]field, 0, 16)
	eachField(b, func(name []byte, start, end int) {
		colon := start + len(name)
		for b[colon] != ':' {
			colon++
		}
		fs = append(fs, field{name: string(name), value: unfold(b[colon+1 : end]), start: start, end: end})
	})
	return fs
}

// eachField calls fn with the name (trailing blanks removed) and the byte range of each field of header block b,
// skipping what parseFields skips, without allocating.
func eachField(b []byte, fn func(name []byte, start, end int)) {
	i := 0
	for i < len(b) {
		first := lineEnd(b, i)
		if isBlankLine(b[i:first]) {
			break
		}
		if b[i] == ' ' || b[i] == '\t' {
			i = first // orphan continuation line
			continue
		}
		end := first
		for end < len(b) && (b[end] == ' ' || b[end] == '\t') {
			end = lineEnd(b, end)
		}
		if name, ok := fieldName(b[i:first]); ok {
			fn(name, i, end)
		}
		i = end
	}
}

// fieldName is the name of the field whose first line is line, if it can be a field: a colon, and before it a
// non-empty name of printable ASCII (blanks before the colon are tolerated).
func fieldName(line []byte) ([]byte, bool) {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return nil, false
	}
	name := bytes.TrimRight(line[:colon], " \t")
	if len(name) == 0 {
		return nil, false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return nil, false
		}
	}
	return name, true
}

// unfold removes line breaks and the blanks around them, joining the lines
// with one space (the same value go-message's textproto reports).
func unfold(v []byte) string {
	var sb strings.Builder
	sb.Grow(len(v))
	for len(v) > 0 {
		line := v
		if j := bytes.IndexByte(v, '\n'); j >= 0 {
			line, v = v[:j], v[j+1:]
		} else {
			v = nil
		}
		line = bytes.TrimRight(line, "\r")
		line = bytes.Trim(line, " \t")
		if len(line) == 0 {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.Write(line)
	}
	return sb.String()
}

// get returns the value of the first field named name (case-insensitive).
func get(fs []field, name string) (string, bool) {
	for i := range fs {
		if strings.EqualFold(fs[i].name, name) {
			return fs[i].value, true
		}
	}
	return "", false
}

// filterFields returns the fields of header block h whose names are (or, with
// not, are not) in names, each with its original folding and CRLF line
// breaks, followed by the blank line, as BODY[HEADER.FIELDS (...)] requires.
func filterFields(h []byte, names []string, not bool) []byte {
	return AppendHeaderFields(make([]byte, 0, 256), h, names, not)
}

// AppendHeaderFields appends to dst what filterFields returns, without
// allocating beyond dst's growth: FETCH of HEADER.FIELDS for a whole mailbox
// runs it once per message.
func AppendHeaderFields(dst, h []byte, names []string, not bool) []byte {
	eachField(h, func(name []byte, start, end int) {
		if nameIn(name, names) != not {
			dst = appendCRLF(dst, h[start:end])
		}
	})
	return append(dst, '\r', '\n')
}

// nameIn reports whether the field name is one of names, which are compared as HEADER.FIELDS compares them:
// case-insensitive, blanks around them ignored. The lengths are compared first: most fields of a header match
// none of the few names a client asks for. A name no longer than the field's needs no trimming: a field name has
// no blanks, so blanks around a name of its length make it differ anyway.
func nameIn(name []byte, names []string) bool {
	for _, n := range names {
		if len(n) > len(name) {
			n = strings.TrimSpace(n)
		}
		if len(n) == len(name) && bytes.EqualFold([]byte(n), name) {
			return true
		}
	}
	return false
}

// shortHeaderOmits are the fields a short header leaves out: long, often many to a message, and asked for by no
// mail client's message list (trace, authentication results, signatures).
var shortHeaderOmits = []string{"Received", "Received-SPF", "Authentication-Results", "DKIM-Signature",
	"X-Google-DKIM-Signature", "ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results"}

// AppendShortHeader appends to dst the header block h without its fields named in shortHeaderOmits, everything
// else as it is. Whole fields go, continuation lines included, so HEADER.FIELDS of names ShortHeaderServes
// accepts picks the same bytes from the short header as from h, with or without trace lines in front.
func AppendShortHeader(dst, h []byte) []byte {
	kept := 0
	eachField(h, func(name []byte, start, end int) {
		if nameIn(name, shortHeaderOmits) {
			dst = append(dst, h[kept:start]...)
			kept = end
		}
	})
	return append(dst, h[kept:]...)
}

// ShortHeaderServes reports whether BODY[HEADER.FIELDS (names)] can be read from a short header
// (AppendShortHeader): none of names is a field it leaves out.
func ShortHeaderServes(names []string) bool {
	for _, n := range names {
		if nameIn([]byte(strings.TrimSpace(n)), shortHeaderOmits) {
			return false
		}
	}
	return len(names) > 0
}

// appendCRLF appends raw header lines with every line break made CRLF (bare
// LF messages are tolerated, but IMAP header sections always use CRLF).
func appendCRLF(out, raw []byte) []byte {
	for len(raw) > 0 {
		j := bytes.IndexByte(raw, '\n')
		if j < 0 {
			return append(append(out, raw...), '\r', '\n')
		}
		line := bytes.TrimSuffix(raw[:j], []byte{'\r'})
		out = append(append(out, line...), '\r', '\n')
		raw = raw[j+1:]
	}
	return out
}
