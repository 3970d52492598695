package webmail

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"
)

// outgoing is a message as the compose form describes it, ready to be written out.
type outgoing struct {
	From        *mail.Address
	To, Cc, Bcc []*mail.Address
	Subject     string
	Text        string
	InReplyTo   []string // message IDs without angle brackets
	References  []string
	Attachments []fileAttachment
	Date        time.Time
	MessageID   string // without angle brackets
}

// fileAttachment is one attached file: an upload, a part carried over from a draft or the forwarded original.
type fileAttachment struct {
	Name string
	Type string // a content type, with parameters
	Data []byte
}

// newMessageID is a random Message-ID in the sender's domain (RFC 5322 section 3.6.4 asks for a unique one; the
// domain part names who made it).
func newMessageID(from string) string {
	domain := "localhost"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i < len(from)-1 {
		domain = from[i+1:]
	}
	return strings.ToLower(rand.Text()) + "@" + domain
}

// write writes the message with go-message: UTF-8 throughout, names and subject RFC 2047 encoded, the text
// quoted-printable, attachment names RFC 2231 encoded (go-message's FormatMediaType), a forwarded message as
// message/rfc822 in 8bit (RFC 2046 section 5.2.1 forbids base64 there). withBcc keeps the Bcc field: for the
// copies in Sent and Drafts, never for what the recipients get (RFC 5322 section 3.6.3).
func (m *outgoing) write(withBcc bool) ([]byte, error) {
	var h gomail.Header
	// go-message puts each new field at the top, so the fields are set from the last to the first.
	h.Set("MIME-Version", "1.0")
	if len(m.References) > 0 {
		h.SetMsgIDList("References", m.References)
	}
	if len(m.InReplyTo) > 0 {
		h.SetMsgIDList("In-Reply-To", m.InReplyTo)
	}
	h.SetMsgIDList("Message-Id", []string{m.MessageID})
	h.SetSubject(m.Subject)
	if withBcc && len(m.Bcc) > 0 {
		h.SetAddressList("Bcc", m.Bcc)
	}
	if len(m.Cc) > 0 {
		h.SetAddressList("Cc", m.Cc)
	}
	if len(m.To) > 0 {
		h.SetAddressList("To", m.To)
	}
	h.SetAddressList("From", []*mail.Address{m.From})
	h.SetDate(m.Date)

	var b bytes.Buffer
	if len(m.Attachments) == 0 {
		setTextHeader(&h.Header)
		w, err := gomail.CreateSingleInlineWriter(&b, h)
		if err != nil {
			return nil, fmt.Errorf("write message: %w", err)
		}
		if err := writeClose(w, []byte(crlf(m.Text))); err != nil {
			return nil, fmt.Errorf("write message text: %w", err)
		}
		return b.Bytes(), nil
	}
	mw, err := gomail.CreateWriter(&b, h)
	if err != nil {
		return nil, fmt.Errorf("write message: %w", err)
	}
	if err := m.writeParts(mw); err != nil {
		return nil, err
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("write message: %w", err)
	}
	return b.Bytes(), nil
}

func (m *outgoing) writeParts(mw *gomail.Writer) error {
	var th gomail.InlineHeader
	setTextHeader(&th.Header)
	tw, err := mw.CreateSingleInline(th)
	if err != nil {
		return fmt.Errorf("write message text: %w", err)
	}
	if err := writeClose(tw, []byte(crlf(m.Text))); err != nil {
		return fmt.Errorf("write message text: %w", err)
	}
	for _, a := range m.Attachments {
		var ah gomail.AttachmentHeader
		mt, params := attachmentType(a.Type)
		ah.SetContentType(mt, params)
		// Go's FormatMediaType writes a non-ASCII name as RFC 2231 wants (filename*=utf-8''…); go-message's
		// SetFilename would write RFC 2047 inside the quotes, which RFC 2047 section 5 rules out there.
		ah.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
		if mt == "message/rfc822" {
			ah.Set("Content-Transfer-Encoding", "8bit")
		} else {
			ah.Set("Content-Transfer-Encoding", "base64")
		}
		aw, err := mw.CreateAttachment(ah)
		if err != nil {
			return fmt.Errorf("write attachment %q: %w", a.Name, err)
		}
		if err := writeClose(aw, a.Data); err != nil {
			return fmt.Errorf("write attachment %q: %w", a.Name, err)
		}
	}
	return nil
}

type headerSetter interface{ Set(k, v string) }

func setTextHeader(h headerSetter) {
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Transfer-Encoding", "quoted-printable")
}

func writeClose(w io.WriteCloser, data []byte) error {
	if _, err := w.Write(data); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// crlf writes a browser's text with CRLF line ends, as a message's lines must have (RFC 5322 section 2.3).
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// uploadType is the type a browser gave an upload, checked; anything unreadable is application/octet-stream.
func uploadType(declared string) string {
	mt, _, err := mime.ParseMediaType(declared)
	if err != nil || !strings.Contains(mt, "/") || strings.HasPrefix(mt, "multipart/") {
		return "application/octet-stream"
	}
	return mt
}
