package message

import (
	"sort"
	"strconv"
	"strings"
)

// rawParam is one "key=value" of a Content-Type or Content-Disposition,
// before RFC 2231 assembly. The value is unquoted.
type rawParam struct{ key, value string }

// parseParamHeader parses "value; k=v; ..." leniently: mime.ParseMediaType
// rejects the whole field on a duplicate or a stray character and drops RFC
// 2231 values in charsets other than UTF-8, all of which real mail has.
// The value is lower-cased; keys are lower-case; values are decoded (RFC 2231,
// RFC 2047 except for the boundary, raw 8-bit via fallback charset).
func parseParamHeader(v, fallback string) (string, map[string]string) {
	value, rest, _ := strings.Cut(v, ";")
	value = strings.ToLower(strings.TrimSpace(stripComment(value)))
	raw := splitParams(rest)
	if len(raw) == 0 {
		return value, nil
	}
	return value, assembleParams(raw, fallback)
}

// stripComment removes a trailing "(comment)" from a simple value.
func stripComment(s string) string {
	if i := strings.IndexByte(s, '('); i >= 0 {
		return s[:i]
	}
	return s
}

// splitParams splits `k=v; k2="v 2"` into raw pairs. Unquoted values run to
// the next ';' (some mailers put spaces in them unquoted).
func splitParams(s string) []rawParam {
	var out []rawParam
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \t;")
		eq := strings.IndexAny(s, "=;")
		if eq < 0 || s[eq] == ';' {
			if eq < 0 {
				break
			}
			s = s[eq:] // a key without a value
			continue
		}
		key := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val string
		if strings.HasPrefix(s, "\"") {
			val, s = unquote(s[1:])
		} else {
			end := strings.IndexByte(s, ';')
			if end < 0 {
				end = len(s)
			}
			val, s = strings.TrimSpace(s[:end]), s[end:]
		}
		if key != "" {
			out = append(out, rawParam{key, val})
		}
	}
	return out
}

// unquote reads a quoted-string body (the opening quote already consumed)
// and returns its value and what follows the closing quote.
func unquote(s string) (string, string) {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				sb.WriteByte(s[i])
			}
		case '"':
			return sb.String(), s[i+1:]
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String(), "" // unterminated: take the rest
}

// section is one RFC 2231 continuation piece.
type section struct {
	n        int
	value    string
	extended bool // percent-encoded (key*N* or key*)
}

// assembleParams joins RFC 2231 continuations, decodes charsets and RFC 2047
// words, and returns the final map. A value given both plainly and in RFC
// 2231 form takes the RFC 2231 one; otherwise the first occurrence wins.
func assembleParams(raw []rawParam, fallback string) map[string]string {
	plain := make(map[string]string, len(raw))
	ext := make(map[string][]section)
	for _, p := range raw {
		base, n, extended, isExt := splitKey(p.key)
		if isExt {
			ext[base] = append(ext[base], section{n, p.value, extended})
		} else if _, dup := plain[base]; !dup {
			plain[base] = p.value
		}
	}
	out := make(map[string]string, len(plain)+len(ext))
	for k, v := range plain {
		if k == "boundary" {
			out[k] = v // matched byte for byte against the body
			continue
		}
		out[k] = decodeHeader(v, fallback)
	}
	for k, secs := range ext {
		if v, ok := joinSections(secs, fallback); ok {
			out[k] = v
		}
	}
	return out
}

// splitKey parses "name", "name*", "name*3" and "name*3*".
func splitKey(key string) (base string, n int, extended, isExt bool) {
	base, rest, found := strings.Cut(key, "*")
	if !found {
		return key, 0, false, false
	}
	if rest == "" {
		return base, 0, true, true
	}
	extended = strings.HasSuffix(rest, "*")
	n, err := strconv.Atoi(strings.TrimSuffix(rest, "*"))
	if err != nil || n < 0 {
		return key, 0, false, false // odd key: keep it as a plain parameter
	}
	return base, n, extended, true
}

// joinSections assembles continuations 0, 1, 2, ... (stopping at a gap) and
// converts the bytes from the charset named in the first extended section.
func joinSections(secs []section, fallback string) (string, bool) {
	sort.SliceStable(secs, func(i, j int) bool { return secs[i].n < secs[j].n })
	if secs[0].n != 0 {
		return "", false
	}
	var cs string
	var buf []byte
	for i, s := range secs {
		if s.n != i {
			break
		}
		v := s.value
		if s.extended {
			if i == 0 {
				// charset'language'value
				if a, b, ok := strings.Cut(v, "'"); ok {
					cs = a
					if _, rest, ok := strings.Cut(b, "'"); ok {
						v = rest
					} else {
						v = b
					}
				}
			}
			buf = percentDecode(buf, v)
		} else {
			buf = append(buf, v...)
		}
	}
	if cs == "" {
		cs = fallback
	}
	return stripControls(toUTF8(buf, cs)), true
}

// percentDecode appends v with %XX escapes decoded; a malformed escape is
// kept literally.
func percentDecode(dst []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) {
			hi, ok1 := unhex(v[i+1])
			lo, ok2 := unhex(v[i+2])
			if ok1 && ok2 {
				dst = append(dst, hi<<4|lo)
				i += 2
				continue
			}
		}
		dst = append(dst, v[i])
	}
	return dst
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parseContentType splits "type/subtype". An invalid value yields ok=false so
// the caller applies the RFC 2045 default.
func parseContentType(v string) (typ, sub string, ok bool) {
	typ, sub, found := strings.Cut(v, "/")
	typ, sub = strings.TrimSpace(typ), strings.TrimSpace(sub)
	if !found || !isToken(typ) || !isToken(sub) {
		return "", "", false
	}
	return typ, sub, true
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}
