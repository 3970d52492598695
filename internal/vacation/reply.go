package vacation

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"mime/quotedprintable"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"mailserver/internal/message"
)

// SubjectPrefix begins the subject of a reply when the script gives none. RFC 5230 section 4.2 suggests "Auto:";
// this server writes it in Vietnamese, the language of nearly everyone who reads these replies, then in English
// for the agencies abroad and the few who do not read Vietnamese.
const SubjectPrefix = "Trả lời tự động / Auto: "

const (
	maxSubjectRunes = 200 // of the original's subject quoted in the reply's: a reply need not carry a novel
	maxReferences   = 20  // message ids kept from the original's References, the newest (RFC 5322 section 3.6.4)
)

// ReplyOptions describe one vacation reply.
type ReplyOptions struct {
	Original     Header // the message answered
	EnvelopeFrom string // its envelope sender, to whom the reply goes (RFC 5230 section 4.3)
	// Recipient is the address the message reached (the account's own or an alias), the reply's From unless the
	// script's :from may be used; RecipientName is the display name shown with it ("Nguyễn Văn An").
	Recipient     string
	RecipientName string
	// From is the script's :from ("" if none), an address with an optional display name. It is used only if
	// MayUseFrom says the account may send as its address (the same rule as submission's); nil allows none.
	From       string
	MayUseFrom func(address string) bool
	Subject    string // the script's :subject; "" is SubjectPrefix + the original's subject
	Reason     string // the text; with MIME, a whole MIME entity (its header, a blank line, its body)
	MIME       bool   // the script's :mime (RFC 5230 section 4.7)
	Hostname   string // this server's name, for the Message-ID
	Now        time.Time
}

// Reply composes the reply: From (the script's :from if the account may use it, else the recipient), To the
// envelope sender, Subject, In-Reply-To and References from the original's Message-ID and References,
// Auto-Submitted: auto-replied (RFC 3834 section 5), a fresh Message-ID and Date, and the reason as text/plain in
// UTF-8, quoted-printable, or, with MIME, the reason's own entity. Header fields with diacritics are RFC 2047
// encoded. The result has CRLF line endings, ready for the outbound queue: the caller signs it and queues it with
// the null envelope sender (RFC 3834 section 3.3), so that nothing answers it in turn.
func Reply(opts ReplyOptions) ([]byte, error) {
	to := strings.Trim(strings.TrimSpace(opts.EnvelopeFrom), "<>")
	switch {
	case to == "":
		return nil, errors.New("vacation: no reply to the null sender")
	case opts.Recipient == "":
		return nil, errors.New("vacation: reply without a recipient address")
	case opts.Hostname == "":
		return nil, errors.New("vacation: reply without a host name for its Message-ID")
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	var h mail.Header
	h.SetDate(opts.Now)
	h.SetAddressList("From", []*mail.Address{replyFrom(opts)})
	h.SetAddressList("To", []*mail.Address{{Address: to}})
	h.SetSubject(replySubject(opts))
	h.SetMessageID(rand.Text() + "@" + opts.Hostname)
	setThreading(&h, opts.Original)
	h.Set("Auto-Submitted", "auto-replied")
	h.Set("MIME-Version", "1.0")

	var body []byte
	var err error
	if opts.MIME {
		body, err = mimeEntity(&h, opts.Reason)
	} else {
		body, err = plainText(&h, opts.Reason)
	}
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := textproto.WriteHeader(&b, inOrder(h.Header.Header)); err != nil {
		return nil, fmt.Errorf("vacation: write header: %w", err)
	}
	b.Write(body)
	return b.Bytes(), nil
}

// fieldOrder is the order the reply's fields are written in, as people expect to read them; the Content-* fields
// follow.
var fieldOrder = []string{"Date", "From", "To", "Subject", "Message-Id", "In-Reply-To", "References",
	"Auto-Submitted", "Mime-Version"}

// inOrder returns h with its fields in fieldOrder. go-message's header inserts each field at the top, since DKIM
// signatures are added that way, so a header built field by field would read bottom up.
func inOrder(h textproto.Header) textproto.Header {
	type field struct{ k, v string }
	var fields []field
	for f := h.Fields(); f.Next(); {
		fields = append(fields, field{f.Key(), f.Value()})
	}
	rank := func(k string) int {
		if i := slices.Index(fieldOrder, k); i >= 0 {
			return i
		}
		return len(fieldOrder)
	}
	slices.SortStableFunc(fields, func(a, b field) int { return rank(a.k) - rank(b.k) })
	var out textproto.Header
	for _, f := range slices.Backward(fields) {
		out.Add(f.k, f.v)
	}
	return out
}

// replyFrom is the script's :from when it parses and the account may send as it, else the recipient.
func replyFrom(opts ReplyOptions) *mail.Address {
	if opts.From != "" && opts.MayUseFrom != nil {
		if a, err := mail.ParseAddress(opts.From); err == nil && opts.MayUseFrom(a.Address) {
			return a
		}
	}
	return &mail.Address{Name: opts.RecipientName, Address: opts.Recipient}
}

// replySubject is the script's :subject, or the prefix and the original's subject, decoded (RFC 2047, any charset)
// and bounded.
func replySubject(opts ReplyOptions) string {
	if s := strings.TrimSpace(opts.Subject); s != "" {
		return oneLine(s)
	}
	orig := strings.TrimSpace(message.DecodeHeaderValue(opts.Original.Get("Subject")))
	if strings.HasPrefix(orig, SubjectPrefix) {
		return oneLine(orig) // already a reply of ours: no second prefix
	}
	if utf8.RuneCountInString(orig) > maxSubjectRunes {
		orig = string([]rune(orig)[:maxSubjectRunes]) + "…"
	}
	return oneLine(SubjectPrefix + orig)
}

// oneLine turns line breaks a script's string may hold into spaces: a header field value is one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// setThreading sets In-Reply-To and References so that the reply threads under the original (RFC 5322 section
// 3.6.4); an original without a usable Message-ID leaves both out.
func setThreading(h *mail.Header, original Header) {
	orig := mail.Header{Header: gomessage.Header{Header: original}}
	id, err := orig.MessageID()
	if err != nil || id == "" {
		return
	}
	refs, err := orig.MsgIDList("References")
	if err != nil {
		refs = nil // unreadable: thread under the original alone
	}
	if len(refs) == 0 {
		if parents, err := orig.MsgIDList("In-Reply-To"); err == nil && len(parents) == 1 {
			refs = parents
		}
	}
	if len(refs) > maxReferences-1 {
		refs = refs[len(refs)-(maxReferences-1):]
	}
	h.SetMsgIDList("In-Reply-To", []string{id})
	h.SetMsgIDList("References", append(refs, id))
}

// plainText sets the header of a text/plain UTF-8 body and returns the reason encoded quoted-printable, CRLF.
func plainText(h *mail.Header, reason string) ([]byte, error) {
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b) // writes the text's line breaks as CRLF, lines under 77 bytes
	if _, err := w.Write([]byte(strings.ReplaceAll(reason, "\r\n", "\n"))); err != nil {
		return nil, fmt.Errorf("vacation: encode the reason: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("vacation: encode the reason: %w", err)
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes(), nil
}

// mimeEntity takes the reason as a MIME entity (RFC 5230 section 4.7): its Content-* fields join the reply's
// header and its body follows as written, line endings made CRLF. Its other fields are dropped: a script must not
// set the reply's From, To or Subject this way.
func mimeEntity(h *mail.Header, reason string) ([]byte, error) {
	text := strings.ReplaceAll(strings.ReplaceAll(reason, "\r\n", "\n"), "\n", "\r\n")
	r := bufio.NewReader(strings.NewReader(text))
	entity, err := textproto.ReadHeader(r)
	if err != nil {
		return nil, fmt.Errorf("vacation: the :mime reason is not a MIME entity: %w", err)
	}
	if !entity.Has("Content-Type") {
		return nil, errors.New("vacation: the :mime reason has no Content-Type")
	}
	fields := entity.Fields()
	for fields.Next() {
		if strings.HasPrefix(strings.ToLower(fields.Key()), "content-") {
			h.Add(fields.Key(), fields.Value())
		}
	}
	var body bytes.Buffer
	if _, err := r.WriteTo(&body); err != nil {
		return nil, err
	}
	if body.Len() > 0 && !bytes.HasSuffix(body.Bytes(), []byte("\r\n")) {
		body.WriteString("\r\n")
	}
	return body.Bytes(), nil
}
