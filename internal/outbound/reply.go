package outbound

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Enhanced status codes (RFC 3463, RFC 5248 registry) of failures this package diagnoses itself; doc.go lists
// them all with their meaning.
const (
	statusNoAnswer      = "4.4.1"
	statusBadConnection = "4.4.2"
	statusProtocol      = "4.5.0"
	statusNoTargets     = "4.4.4"
	statusNoTLS         = "4.7.4"
	statusTLSFailed     = "4.7.5"
	statusAuthFailed    = "4.7.8"
	statusTooBig        = "5.3.4"
	statusUTF8Address   = "5.6.7"
	statusBadRecipient  = "5.1.3"
	statusBadSender     = "5.1.7"
)

// Bounds on what a server may send: replies are untrusted input that ends up in bounces and logs.
const (
	maxReplyLine  = 2048     // one reply line; RFC 5321 4.5.3.1.5 allows 512, the rest is slack for odd servers
	maxReplyBytes = 64 << 10 // one whole multi-line reply (EHLO lists are the longest)
	maxReplyText  = 512      // the text kept in a Reply
)

// Reply is the outcome of a command for one recipient: a server's reply, or, with Code 0, a failure that this
// package diagnosed itself (no server answered, TLS could not be had, the message is too large, ...), classified
// by Enhanced.
type Reply struct {
	Code     int    // SMTP reply code; 0 when no server reply applies
	Enhanced string // RFC 3463 enhanced status code; "" when a server sent none (its class.0.0 applies)
	// Text is the server's text (lines joined by spaces) or the diagnosis, with control characters replaced and
	// cut to 512 bytes.
	Text string
	Host string // the server that said it or that the diagnosis concerns; "" if none was reached
}

// Permanent reports whether the failure is permanent: a 5xx reply, or a diagnosis with a 5.x.x code.
func (r Reply) Permanent() bool {
	if r.Code == 0 {
		return strings.HasPrefix(r.Enhanced, "5.")
	}
	return r.Code/100 == 5
}

// String gives the reply as a server said it: "550 5.1.1 text", or "4.4.1 text" for a diagnosis.
func (r Reply) String() string {
	parts := make([]string, 0, 3)
	if r.Code != 0 {
		parts = append(parts, strconv.Itoa(r.Code))
	}
	for _, s := range []string{r.Enhanced, r.Text} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

// diagnosis is a Reply for a failure found on this side.
func diagnosis(host, status, format string, args ...any) Reply {
	return Reply{Enhanced: status, Text: clean(fmt.Sprintf(format, args...)), Host: host}
}

// errProtocol marks a reply that breaks RFC 5321 syntax or the bounds above.
var errProtocol = errors.New("malformed reply")

// readReply reads one possibly multi-line reply: its code and the text of each line.
func readReply(r *bufio.Reader) (code int, lines []string, err error) {
	total := 0
	for {
		raw, err := r.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return 0, nil, fmt.Errorf("%w: line longer than %d bytes", errProtocol, maxReplyLine)
		case errors.Is(err, io.EOF):
			return 0, nil, fmt.Errorf("connection closed: %w", io.ErrUnexpectedEOF)
		case err != nil:
			return 0, nil, err
		}
		if total += len(raw); total > maxReplyBytes {
			return 0, nil, fmt.Errorf("%w: longer than %d bytes", errProtocol, maxReplyBytes)
		}
		line := strings.TrimRight(string(raw), "\r\n")
		c, err := strconv.Atoi(line[:min(3, len(line))])
		if err != nil || len(line) < 3 || c < 200 || c > 599 || (code != 0 && c != code) {
			return 0, nil, fmt.Errorf("%w: %q", errProtocol, clean(line))
		}
		code = c
		if len(line) == 3 {
			return code, append(lines, ""), nil
		}
		lines = append(lines, line[4:])
		switch line[3] {
		case ' ':
			return code, lines, nil
		case '-':
		default:
			return 0, nil, fmt.Errorf("%w: %q", errProtocol, clean(line))
		}
	}
}

// newReply builds the Reply of a server's reply: the enhanced code (RFC 2034 repeats it on every line, some
// servers put it on the last line only) is taken out of the text.
func newReply(host string, code int, lines []string) Reply {
	r := Reply{Code: code, Host: host}
	text := make([]string, len(lines))
	for i, line := range lines {
		enhanced, rest, ok := cutEnhanced(line, code/100)
		if ok && (r.Enhanced == "" || r.Enhanced == enhanced) {
			r.Enhanced, line = enhanced, rest
		}
		text[i] = line
	}
	r.Text = clean(strings.Join(text, " "))
	return r
}

// cutEnhanced splits "5.1.1 text" into the enhanced code and the text, if the line starts with a code of the
// reply's class (RFC 3463: class "." 1*3digit "." 1*3digit).
func cutEnhanced(line string, class int) (enhanced, rest string, ok bool) {
	enhanced, rest, _ = strings.Cut(line, " ")
	parts := strings.Split(enhanced, ".")
	if len(parts) != 3 || parts[0] != strconv.Itoa(class) {
		return "", line, false
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return "", line, false
		}
	}
	return enhanced, rest, true
}

// clean makes untrusted text safe to keep: control characters become '?', invalid UTF-8 becomes U+FFFD, and the
// result is cut to maxReplyText bytes on a character boundary.
func clean(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			r = '?'
		}
		if b.Len()+utf8.RuneLen(r) > maxReplyText {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
