package smtp

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/netlimit"
)

// readBody reads the whole message, at most the configured size. go-smtp enforces the size too (per DATA, and per
// BDAT chunk total); the limit here keeps the buffer bounded whatever the path. Each read pushes the connection's
// read deadline forward by ReadTimeout, so ReadTimeout is an idle limit during the upload as it is between
// commands: go-smtp sets the deadline once before DATA, which would cut off a large message on a slow link.
func (s *session) readBody(r io.Reader) (body []byte, release func(), err error) {
	r = &deadlineReader{r: r, conn: s.conn, timeout: s.srv.opts.ReadTimeout}
	limit := s.srv.opts.MaxMessageBytes
	body, release, err = s.srv.opts.Memory.ReadAll(r, limit)
	if err != nil {
		release()
		return nil, func() {}, readError(err)
	}
	if int64(len(body)) > limit {
		release()
		return nil, func() {}, gosmtp.ErrDataTooLarge
	}
	return body, release, nil
}

// readError classifies a failure to read the message: too large and line too long are the client's; anything else
// (connection lost, timeout, BDAT transfer reset) means the transfer did not finish.
func readError(err error) error {
	var se *gosmtp.SMTPError
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, gosmtp.ErrTooLongLine):
		return errLineTooLong
	case errors.Is(err, netlimit.ErrMemoryBusy):
		return err
	default:
		return fmt.Errorf("%w: %v", errTransferAborted, err)
	}
}

type deadlineReader struct {
	r       io.Reader
	conn    net.Conn
	timeout time.Duration
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	d.conn.SetReadDeadline(time.Now().Add(d.timeout))
	return d.r.Read(p)
}

// checkLineEndings refuses a CR not followed by LF and a LF not preceded by CR anywhere in the message, like
// Postfix's smtpd_forbid_bare_newline: receivers that accept them differ on where lines and the message end, which
// is what SMTP smuggling (<LF>.<CR><LF>) exploits, and IMAP clients expect CRLF.
func checkLineEndings(b []byte) error {
	for i := 0; i < len(b); {
		j := bytes.IndexAny(b[i:], "\r\n")
		if j < 0 {
			return nil
		}
		i += j
		if b[i] == '\n' || i+1 == len(b) || b[i+1] != '\n' {
			return errBareNewline
		}
		i += 2
	}
	return nil
}

// completeHeader prepends the Date and Message-ID fields a submitted message lacks (RFC 6409 section 8.2 and 8.3;
// RFC 5322 requires Date, and Message-ID is what threads replies). The message's own bytes are not touched.
// Checked after checkLineEndings, so lines end with CRLF.
func completeHeader(body []byte, hostname string, now time.Time) []byte {
	hasDate, hasID := false, false
	for _, name := range headerFieldNames(body) {
		switch {
		case asciiEqualFold(name, "Date"):
			hasDate = true
		case asciiEqualFold(name, "Message-ID"):
			hasID = true
		}
	}
	if hasDate && hasID {
		return body
	}
	var add []byte
	if !hasDate {
		add = append(add, "Date: "+now.Format(time.RFC1123Z)+"\r\n"...)
	}
	if !hasID {
		add = append(add, "Message-ID: <"+rand.Text()+"@"+hostname+">\r\n"...)
	}
	return append(add, body...)
}

// headerFieldNames returns the names of the fields in the header block at the start of b (up to the first empty
// line), skipping lines that are no field.
func headerFieldNames(b []byte) [][]byte {
	var names [][]byte
	for len(b) > 0 {
		line := b
		if i := bytes.Index(b, []byte("\r\n")); i >= 0 {
			line, b = b[:i], b[i+2:]
		} else {
			b = nil
		}
		if len(line) == 0 {
			break // the blank line ending the header
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue // a continuation line
		}
		if colon := bytes.IndexByte(line, ':'); colon > 0 {
			names = append(names, bytes.TrimRight(line[:colon], " \t"))
		}
	}
	return names
}

func asciiEqualFold(b []byte, s string) bool { return bytes.EqualFold(b, []byte(s)) }
