package webmail

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"mailserver/internal/mailview"
	"mailserver/internal/message"
)

// assemble turns the submitted form into a message. A notice (in the reader's language) tells what the user must
// correct; an error is an internal failure.
func (h *Handler) assemble(r *http.Request, sess *session, f composeForm) (out *outgoing, notice string, err error) {
	t := words[language(r)]
	out = &outgoing{Subject: oneLine(f.Subject), Text: f.Body, Date: time.Now()}
	out.From = h.fromAddress(sess, f.From)
	out.MessageID = newMessageID(out.From.Address)
	for _, field := range []struct {
		value string
		list  *[]*mail.Address
	}{{f.To, &out.To}, {f.Cc, &out.Cc}, {f.Bcc, &out.Bcc}} {
		list, bad := parseRecipients(field.value)
		if bad != "" {
			return nil, t["compose_bad_address"] + " " + bad, nil
		}
		*field.list = list
	}
	out.InReplyTo, out.References = messageIDs(f.InReplyTo), messageIDs(f.References)
	if out.Attachments, err = h.carried(sess, f); err != nil {
		return nil, "", err
	}
	uploads, err := readUploads(r)
	if err != nil {
		return nil, "", err
	}
	out.Attachments = append(out.Attachments, uploads...)
	return out, "", nil
}

// fromAddress is the chosen From address with the account's name when it is the account's own address; the
// address itself is checked when the message is sent (AuthorizeSender and the From check of the commit).
func (h *Handler) fromAddress(sess *session, from string) *mail.Address {
	from = strings.TrimSpace(from)
	if from == "" {
		from = sess.account.Address
	}
	a := &mail.Address{Address: from}
	if strings.EqualFold(from, sess.account.Address) {
		a.Name = sess.account.Name
	}
	return a
}

// parseRecipients reads a comma-separated list as people type it ("Nguyễn Văn Hùng <hung@…>, lan@…"; a
// semicolon, as Outlook writes, counts as a comma). It returns the piece it could not read, if any.
func parseRecipients(s string) (list []*mail.Address, bad string) {
	for _, piece := range splitRecipients(s) {
		a, err := gomail.ParseAddress(piece)
		if err != nil {
			return nil, piece
		}
		list = append(list, a)
	}
	return list, ""
}

// splitRecipients splits at commas and semicolons outside quotes and angle brackets, dropping empty pieces.
func splitRecipients(s string) []string {
	var out []string
	var cur strings.Builder
	quoted, angle := false, false
	flush := func() {
		if p := strings.TrimSpace(cur.String()); p != "" {
			out = append(out, p)
		}
		cur.Reset()
	}
	for _, c := range s {
		switch {
		case c == '"':
			quoted = !quoted
		case c == '<' && !quoted:
			angle = true
		case c == '>' && !quoted:
			angle = false
		case (c == ',' || c == ';') && !quoted && !angle:
			flush()
			continue
		}
		cur.WriteRune(c)
	}
	flush()
	return out
}

// messageIDs reads the hidden threading fields: message IDs in angle brackets, anything else dropped.
func messageIDs(s string) []string {
	var h gomail.Header
	h.Set("X", s)
	ids, err := h.MsgIDList("X")
	if err != nil {
		return nil
	}
	return ids
}

// oneLine makes the subject one line: a header field value has no line breaks.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// readUploads reads the files chosen in the form. A file input left empty sends a part without a name: skipped.
func readUploads(r *http.Request) ([]fileAttachment, error) {
	if r.MultipartForm == nil {
		return nil, nil
	}
	var out []fileAttachment
	for _, fh := range r.MultipartForm.File["attach"] {
		if fh.Filename == "" && fh.Size == 0 {
			continue
		}
		file, err := fh.Open()
		if err != nil {
			return nil, fmt.Errorf("open upload %q: %w", fh.Filename, err)
		}
		data, err := io.ReadAll(file)
		file.Close()
		if err != nil {
			return nil, fmt.Errorf("read upload %q: %w", fh.Filename, err)
		}
		out = append(out, fileAttachment{Name: fh.Filename, Type: uploadType(fh.Header.Get("Content-Type")),
			Data: data})
	}
	return out, nil
}

// carried are the attachments the form keeps from the previous draft (or the original forwarded inline), and
// the original itself when it is forwarded as an attachment and no draft holds it yet.
func (h *Handler) carried(sess *session, f composeForm) ([]fileAttachment, error) {
	var out []fileAttachment
	if f.Mode == modeAttach && f.DraftUID == 0 {
		orig, err := h.original(sess, f)
		if err != nil {
			return nil, fmt.Errorf("forward uid %d: %w", f.OrigUID, err)
		}
		out = append(out, fileAttachment{Name: originalFileName(orig, words["vi"]), Type: "message/rfc822",
			Data: orig})
	}
	if len(f.Keep) == 0 {
		return out, nil
	}
	src, err := h.carrySource(sess, f)
	if err != nil || src == nil {
		return out, err
	}
	for _, path := range f.Keep {
		ctype, name, body, err := mailview.Part(src, path)
		if err != nil {
			continue // not a part of the source (any more): nothing to carry
		}
		if ctype == "message/rfc822" && name == "" {
			name = originalFileName(body, words["vi"])
		}
		out = append(out, fileAttachment{Name: name, Type: ctype, Data: body})
	}
	return out, nil
}

// originalFileName names a forwarded message after its subject, as a .eml file.
func originalFileName(raw []byte, t map[string]string) string {
	subject := t["no_subject"]
	if env := message.Parse(raw).Envelope; env != nil && strings.TrimSpace(env.Subject) != "" {
		subject = oneLine(env.Subject)
	}
	subject = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, subject)
	return subject + ".eml"
}

// attachmentType splits a stored content type into the media type and its parameters (a text part's charset).
func attachmentType(ctype string) (string, map[string]string) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return "application/octet-stream", nil
	}
	return mt, params
}
