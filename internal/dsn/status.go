package dsn

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bounds on values from outside, in bytes. With the longest field name they keep every line of part 2 under
// maxLine even where a value has no space to fold at.
const (
	maxAddress    = 320 // RFC 5321: local part 64, domain 255
	maxDiagnostic = 900
	maxHost       = 255
	maxQueueID    = 128
)

// deliveryStatus returns the body of the message/delivery-status part (RFC 3464 section 2): the per-message
// fields, then one group of per-recipient fields for each recipient, the groups separated by blank lines.
//
// The part is 7-bit, as RFC 3464 requires: a remote server's reply loses its non-ASCII characters here (the text
// part keeps them), and an address with non-ASCII characters uses RFC 6533's utf-8 address type in its 7-bit
// xtext form rather than raw UTF-8, which only message/global-delivery-status may carry and few clients know.
func deliveryStatus(r Report) []byte {
	var b bytes.Buffer
	writeField(&b, "Reporting-MTA", "dns; "+r.ReportingMTA)
	if id := asciiText(r.QueueID, maxQueueID); id != "" {
		writeField(&b, "X-Queue-ID", id) // what the administrator looks the message up by
	}
	if !r.ArrivalDate.IsZero() {
		writeField(&b, "Arrival-Date", r.ArrivalDate.Format(time.RFC1123Z))
	}
	for _, rc := range r.Recipients {
		b.WriteString("\r\n")
		writeField(&b, "Final-Recipient", finalRecipient(rc.Address))
		writeField(&b, "Action", string(rc.Action))
		writeField(&b, "Status", statusCode(rc))
		if mta := asciiText(rc.RemoteMTA, maxHost); mta != "" {
			writeField(&b, "Remote-MTA", "dns; "+mta)
		}
		if d := asciiText(rc.Diagnostic, maxDiagnostic); d != "" {
			writeField(&b, "Diagnostic-Code", "smtp; "+d)
		}
		if !rc.LastAttempt.IsZero() {
			writeField(&b, "Last-Attempt-Date", rc.LastAttempt.Format(time.RFC1123Z))
		}
		if rc.Action == Delayed && !rc.WillRetryUntil.IsZero() {
			writeField(&b, "Will-Retry-Until", rc.WillRetryUntil.Format(time.RFC1123Z))
		}
	}
	return b.Bytes()
}

// statusCode returns rc's enhanced status code, or the generic one for its action when it has none or a malformed
// one: Status is required (RFC 3464 section 2.3.4), and a report with a vague code beats no report.
func statusCode(rc Recipient) string {
	if s := strings.TrimSpace(rc.Status); validStatus(s) {
		return s
	}
	switch rc.Action {
	case Failed:
		return "5.0.0"
	case Delayed:
		return "4.0.0"
	}
	return "2.0.0"
}

// validStatus accepts class.subject.detail (RFC 3463 section 2): class 2, 4 or 5, then 1 to 3 digits each.
func validStatus(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] != "2" && parts[0] != "4" && parts[0] != "5" {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) == 0 || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// statusParts splits a valid status code into class, subject and detail.
func statusParts(s string) (class, subj, detail string) {
	parts := strings.Split(s, ".")
	return parts[0], parts[1], parts[2]
}

// finalRecipient returns the Final-Recipient value: "rfc822; addr", or for an address with non-ASCII characters
// "utf-8; " and its utf-8-addr-xtext form (RFC 6533 section 3). The xtext form has no space to fold at and is up
// to six times longer, so it is cut at maxDiagnostic bytes.
func finalRecipient(addr string) string {
	addr = cleanText(addr, maxAddress)
	if isASCII([]byte(addr)) {
		return "rfc822; " + addr
	}
	var b strings.Builder
	b.WriteString("utf-8; ")
	for _, c := range addr {
		enc := string(c)
		if c <= ' ' || c >= 0x7f || c == '\\' || c == '+' || c == '=' {
			enc = fmt.Sprintf(`\x{%X}`, c)
		}
		if b.Len()+len(enc) > maxDiagnostic {
			break
		}
		b.WriteString(enc)
	}
	return b.String()
}

// cleanText makes a value from outside safe for one line: invalid UTF-8 is replaced, every run of blanks, line
// breaks, control and format characters (bidi overrides included) becomes one space, and the result is cut to limit
// bytes at a character boundary.
func cleanText(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	for _, c := range s {
		if unicode.IsSpace(c) || unicode.IsControl(c) || unicode.Is(unicode.Cf, c) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if b.Len()+utf8.RuneLen(c) > limit {
			break
		}
		b.WriteRune(c)
	}
	return strings.TrimRight(b.String(), " ")
}

// asciiText is cleanText for the 7-bit delivery-status part: other characters become '?'.
func asciiText(s string, limit int) string {
	s = cleanText(s, limit)
	if isASCII([]byte(s)) {
		return s
	}
	return strings.Map(func(c rune) rune {
		if c >= utf8.RuneSelf {
			return '?'
		}
		return c
	}, s)
}
