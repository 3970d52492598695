// Package dsn builds the delivery status notifications (RFC 3464) that the outbound queue sends to a message's
// envelope sender when mail to another server failed for good, expired, or is delayed. A report is a
// multipart/report (RFC 6522) of three parts: a text in Vietnamese and English that tells staff what happened and
// what to do, the machine-readable message/delivery-status, and the original message's header.
package dsn

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"mailserver/internal/message"
)

// Action is what happened to one recipient (RFC 3464 section 2.3.3).
type Action string

const (
	Failed    Action = "failed"    // failed for good, or given up after retrying
	Delayed   Action = "delayed"   // not delivered yet; still retried
	Delivered Action = "delivered" // taken by the final server
	Relayed   Action = "relayed"   // passed on to a server that sends no reports
	Expanded  Action = "expanded"  // delivered to a list, which passes it on
)

// Recipient is the outcome for one recipient of the original message.
type Recipient struct {
	Address        string    // final recipient
	Action         Action    // what happened
	Status         string    // enhanced status code (RFC 3463) such as "5.1.1"; a generic one for the action if invalid
	RemoteMTA      string    // host name of the server that answered, "" if none was reached
	Diagnostic     string    // the remote server's reply as received, "" if none
	LastAttempt    time.Time // zero: not reported
	WillRetryUntil time.Time // for Delayed only; zero: not reported
}

// Report describes one notification to the sender of one queued message.
type Report struct {
	ReportingMTA   string      // this server's host name
	From           string      // sender address of the report; "" is MAILER-DAEMON@ReportingMTA
	To             string      // the original envelope sender, who gets the report
	QueueID        string      // the original message's queue id, so the administrator can look it up
	ArrivalDate    time.Time   // when the original message was queued; zero: not reported
	Recipients     []Recipient // at least one; actions may be mixed
	OriginalHeader []byte      // the original header block, blank line included, CRLF; may be nil
	Now            time.Time   // the report's date; zero is time.Now()
}

var (
	// ErrNullSender: the original message had the null sender (it was itself a report), so no report may be sent
	// (RFC 3464 section 2; RFC 5321 section 4.5.5), or loops follow.
	ErrNullSender = errors.New("dsn: no report to the null sender")
	// ErrInvalid: the report lacks something it needs.
	ErrInvalid = errors.New("dsn: invalid report")
)

// displayName is the From name, RFC 2047-encoded UTF-8, which current clients show as written: an English
// "Mail Delivery System" would mean little to most staff.
const displayName = "Hệ thống thư điện tử"

const (
	maxOriginal = 64 << 10 // bytes of the original header quoted in part 3
	maxLine     = 998      // RFC 5322 section 2.1.1, without CRLF
)

// Build returns the report as a complete message with CRLF line endings, ready to queue for r.To.
func Build(r Report) ([]byte, error) {
	return build(r, rand.Text(), rand.Text())
}

// build is Build with the MIME boundary and the Message-ID's local part given, so tests get stable output.
// boundary is random in Build: no part can contain it by accident, and guessing it takes 2^130 tries.
func build(r Report, boundary, idToken string) ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	if r.From == "" {
		r.From = "MAILER-DAEMON@" + r.ReportingMTA
	}
	if r.Now.IsZero() {
		r.Now = time.Now()
	}
	orig := message.Parse(r.OriginalHeader)
	text := humanText(r, orig)

	var b bytes.Buffer
	writeField(&b, "Date", r.Now.Format(time.RFC1123Z))
	writeField(&b, "From", mime.QEncoding.Encode("utf-8", displayName)+" <"+r.From+">")
	writeField(&b, "To", r.To)
	writeField(&b, "Subject", mime.QEncoding.Encode("utf-8", subject(r.Recipients)))
	writeField(&b, "Message-ID", "<"+idToken+"@"+r.ReportingMTA+">")
	if id := orig.Envelope.MessageID; validMsgID(id) {
		writeField(&b, "In-Reply-To", "<"+id+">")
		writeField(&b, "References", "<"+id+">")
	}
	writeField(&b, "Auto-Submitted", "auto-replied") // RFC 3834: auto-responders must not answer
	writeField(&b, "MIME-Version", "1.0")
	writeField(&b, "Content-Type", `multipart/report; report-type=delivery-status; boundary="`+boundary+`"`)
	b.WriteString("\r\n")

	var qp bytes.Buffer
	w := quotedprintable.NewWriter(&qp) // turns the text's "\n" into CRLF and keeps lines under 77 bytes
	if _, err := w.Write([]byte(text)); err != nil {
		return nil, fmt.Errorf("dsn: encoding the text part: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("dsn: encoding the text part: %w", err)
	}
	writePart(&b, boundary, "Content-Type: text/plain; charset=utf-8\r\n"+
		"Content-Transfer-Encoding: quoted-printable\r\n"+
		"Content-Description: Notification\r\n", qp.Bytes())
	writePart(&b, boundary, "Content-Type: message/delivery-status\r\n"+
		"Content-Description: Delivery report\r\n", deliveryStatus(r))
	if hdr := originalHeader(r.OriginalHeader); hdr != nil {
		writeOriginal(&b, boundary, hdr)
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes(), nil
}

func (r *Report) validate() error {
	if r.To == "" || r.To == "<>" {
		return ErrNullSender
	}
	if !validAddress(r.To) {
		return fmt.Errorf("%w: bad To address %q", ErrInvalid, r.To)
	}
	if r.From != "" && !validAddress(r.From) {
		return fmt.Errorf("%w: bad From address %q", ErrInvalid, r.From)
	}
	if !validHostname(r.ReportingMTA) {
		return fmt.Errorf("%w: bad reporting host name %q", ErrInvalid, r.ReportingMTA)
	}
	if len(r.Recipients) == 0 {
		return fmt.Errorf("%w: no recipients", ErrInvalid)
	}
	for i, rc := range r.Recipients {
		switch rc.Action {
		case Failed, Delayed, Delivered, Relayed, Expanded:
		default:
			return fmt.Errorf("%w: recipient %d: unknown action %q", ErrInvalid, i, rc.Action)
		}
		if cleanText(rc.Address, maxAddress) == "" {
			return fmt.Errorf("%w: recipient %d: no address", ErrInvalid, i)
		}
	}
	return nil
}

// validAddress accepts what can stand in a header as is: the report goes to To, so it is checked, not cleaned.
// A UTF-8 address stays UTF-8 (RFC 6532): a report can only reach it over SMTPUTF8 anyway.
func validAddress(a string) bool {
	if len(a) > maxAddress || !utf8.ValidString(a) || strings.IndexByte(a, '@') <= 0 {
		return false
	}
	for _, c := range a {
		if c <= ' ' || unicode.IsControl(c) || c == '<' || c == '>' || c == ',' {
			return false
		}
	}
	return true
}

// validHostname accepts a DNS name (LDH labels): it goes into the Message-ID and the From address.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// validMsgID accepts an id that can be put back between angle brackets on one line.
func validMsgID(id string) bool {
	if id == "" || len(id) > 900 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

// subject is the report's Subject: the most urgent action decides.
func subject(rs []Recipient) string {
	switch {
	case anyAction(rs, Failed):
		return "Thư không gửi được / Undelivered Mail Returned to Sender"
	case anyAction(rs, Delayed):
		return "Thư đang chậm gửi / Delayed Mail (still being retried)"
	}
	return "Thư đã gửi thành công / Successful Mail Delivery Report"
}

func anyAction(rs []Recipient, a Action) bool {
	for _, rc := range rs {
		if rc.Action == a {
			return true
		}
	}
	return false
}

// writeField writes a header field, folding its value at spaces so lines stay near 78 bytes. Values are bounded
// before they get here, so a run without spaces cannot pass maxLine.
func writeField(b *bytes.Buffer, name, value string) {
	b.WriteString(name + ":")
	n := len(name) + 1
	for i, word := range strings.Split(value, " ") {
		if i > 0 && n+1+len(word) > 78 {
			b.WriteString("\r\n")
			n = 0
		}
		b.WriteString(" " + word)
		n += 1 + len(word)
	}
	b.WriteString("\r\n")
}

// writePart writes one body part: the delimiter, header and body. The CRLF before the next delimiter belongs to
// the delimiter (RFC 2046 section 5.1.1), so the body reads back exactly as given.
func writePart(b *bytes.Buffer, boundary, header string, body []byte) {
	b.WriteString("--" + boundary + "\r\n" + header + "\r\n")
	b.Write(body)
	b.WriteString("\r\n")
}

// writeOriginal writes part 3. An 8-bit header (raw UTF-8 or a legacy charset) is base64-encoded as
// text/rfc822-headers, which RFC 6533 section 6.3 allows, so the report stays 7-bit for any server on the way.
func writeOriginal(b *bytes.Buffer, boundary string, hdr []byte) {
	const desc = "Content-Description: Undelivered message header\r\n"
	if isASCII(hdr) {
		writePart(b, boundary, "Content-Type: text/rfc822-headers\r\n"+desc, hdr)
		return
	}
	ct := "Content-Type: text/rfc822-headers\r\n"
	if utf8.Valid(hdr) {
		ct = "Content-Type: text/rfc822-headers; charset=utf-8\r\n"
	}
	enc := base64.StdEncoding.EncodeToString(hdr)
	var body strings.Builder
	for len(enc) > 76 {
		body.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	body.WriteString(enc)
	writePart(b, boundary, ct+"Content-Transfer-Encoding: base64\r\n"+desc, []byte(body.String()))
}

// originalHeader returns the header block at the start of b, cut at a field boundary to at most maxOriginal
// bytes, or nil if b does not start with a well-formed one: part 3 is then left out rather than sent broken.
func originalHeader(b []byte) []byte {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return nil
	}
	fields := b[:end+2]
	cut := 0 // end of the last whole field that fits with the blank line
	for i := 0; i < len(fields); {
		j := bytes.Index(fields[i:], []byte("\r\n"))
		line := fields[i : i+j]
		if len(line) == 0 || len(line) > maxLine || bytes.ContainsAny(line, "\r\n\x00") {
			return nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			if i == 0 {
				return nil // a continuation with no field
			}
		} else if !isFieldStart(line) {
			return nil
		}
		i += j + 2
		if i+2 <= maxOriginal && (i == len(fields) || fields[i] != ' ' && fields[i] != '\t') {
			cut = i
		}
	}
	if cut == 0 {
		return nil
	}
	out := make([]byte, cut, cut+2)
	copy(out, fields)
	return append(out, "\r\n"...)
}

// isFieldStart reports whether line starts a header field: a name of printable ASCII, then a colon.
func isFieldStart(line []byte) bool {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return false
	}
	name := bytes.TrimRight(line[:colon], " \t") // RFC 5322 obs-optional: blanks before the colon
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
