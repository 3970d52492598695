package message

import "strings"

// UntrustedResults is the name an Authentication-Results field gets when it claims this server's authserv-id but
// arrived from outside.
const UntrustedResults = "X-Untrusted-Authentication-Results"

// ObscureAuthResults renames every Authentication-Results field in the top-level header of raw that claims
// authservID to X-Untrusted-Authentication-Results, leaving its value and folding as they were. RFC 8601 section 5:
// a border MTA must delete or otherwise obscure such fields, or clients and filters would trust results this server
// never produced; renaming rather than deleting keeps what the sender wrote readable. raw is returned unchanged
// (the same slice) when no field claims authservID.
func ObscureAuthResults(raw []byte, authservID string) []byte {
	header := raw[:headerEnd(raw)]
	var claimed []field
	for _, f := range parseFields(header, 0) {
		if strings.EqualFold(f.name, "Authentication-Results") && strings.EqualFold(resultsAuthservID(f.value), authservID) {
			claimed = append(claimed, f)
		}
	}
	if len(claimed) == 0 {
		return raw
	}
	out := make([]byte, 0, len(raw)+len(claimed)*len("X-Untrusted-"))
	prev := 0
	for _, f := range claimed {
		out = append(out, raw[prev:f.start]...)
		out = append(out, UntrustedResults...)
		prev = f.start + len(f.name) // the name as written; the colon and value follow unchanged
	}
	return append(out, raw[prev:]...)
}

// resultsAuthservID returns the authserv-id an Authentication-Results value starts with (RFC 8601 section 2.2:
// [CFWS] authserv-id [CFWS authres-version] ";" ...), without quotes; comments before it are skipped.
func resultsAuthservID(v string) string {
	v = skipCFWS(v)
	if strings.HasPrefix(v, `"`) {
		if end := strings.IndexByte(v[1:], '"'); end >= 0 {
			return v[1 : end+1]
		}
		return ""
	}
	end := strings.IndexAny(v, " \t;(")
	if end < 0 {
		return v
	}
	return v[:end]
}

// skipCFWS drops leading blanks and (possibly nested) comments.
func skipCFWS(v string) string {
	for {
		v = strings.TrimLeft(v, " \t")
		if !strings.HasPrefix(v, "(") {
			return v
		}
		depth, i := 0, 0
		for ; i < len(v); i++ {
			switch v[i] {
			case '\\':
				i++
			case '(':
				depth++
			case ')':
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if i >= len(v) {
			return ""
		}
		v = v[i+1:]
	}
}
