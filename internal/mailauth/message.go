package mailauth

import (
	"bytes"
	"strings"
)

// headerFields returns the unfolded values of the message's header fields called name (in any case), in order.
// It reads the header as go-msgauth's DKIM verifier does (lines end in CRLF or LF, a line starting with a space or
// tab continues the field before it, the first empty line ends the header, a field's name is what comes before
// its first colon), so that the i-th DKIM-Signature here is the verifier's i-th.
func headerFields(msg []byte, name string) []string {
	var fields []string
	for len(msg) > 0 {
		var line []byte
		line, msg, _ = bytes.Cut(msg, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break
		}
		if len(fields) > 0 && (line[0] == ' ' || line[0] == '\t') {
			fields[len(fields)-1] += "\r\n" + string(line)
		} else {
			fields = append(fields, string(line))
		}
	}
	var out []string
	for _, f := range fields {
		if key, value, _ := strings.Cut(f, ":"); strings.EqualFold(strings.TrimSpace(key), name) {
			out = append(out, strings.ReplaceAll(value, "\r\n", ""))
		}
	}
	return out
}
