package webmail

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"mailserver/internal/mailview"
	"mailserver/internal/message"
)

// headersPage lists every header field of a message, decoded ("show all headers").
type headersPage struct {
	page
	Folder  string
	UID     uint32
	Subject string
	Headers []mailview.Header
	RawURL  string
}

// readHeaders is the reading page's "show all headers" (read?...&headers=1): every top-level field in order,
// decoded by internal/mailview; html/template escapes them. It does not mark the message \Seen: it shows no body.
func (h *Handler) readHeaders(w http.ResponseWriter, r *http.Request, sess *session) {
	f, m, raw, ok := h.openMessage(w, r, sess)
	if !ok {
		return
	}
	v, err := mailview.Render(raw, mailview.Options{})
	if err != nil {
		h.fail(w, r, "headers", err)
		return
	}
	p := headersPage{page: h.basePage(r, sess, ""), Folder: f.Name, UID: m.UID, Subject: messageSubject(raw),
		Headers: v.Headers, RawURL: rawURL(f.Name, m.UID)}
	if p.Subject == "" {
		p.Subject = p.T["no_subject"]
	}
	h.render(w, http.StatusOK, "headers", p)
}

// raw serves a message as stored, byte for byte, as a .eml file named after its subject (RFC 5322 in a
// message/rfc822 body, RFC 2046 section 5.2.1; the name per RFC 6266).
func (h *Handler) raw(w http.ResponseWriter, r *http.Request, sess *session) {
	_, _, raw, ok := h.openMessage(w, r, sess)
	if !ok {
		return
	}
	// A subject often holds a document number such as "Số 12/UBND-VP": its slashes are no folders, and
	// ContentDisposition would keep only what follows the last one.
	name := strings.TrimSpace(strings.NewReplacer("/", "-", `\`, "-").Replace(messageSubject(raw)))
	if name == "" {
		name = "message"
	}
	hd := w.Header()
	hd.Set("Content-Type", "message/rfc822")
	hd.Set("Content-Disposition", mailview.ContentDisposition(name+".eml", "message/rfc822"))
	hd.Set("Content-Length", strconv.Itoa(len(raw)))
	w.Write(raw)
}

func messageSubject(raw []byte) string {
	if env := message.Parse(raw).Envelope; env != nil {
		return env.Subject
	}
	return ""
}

func rawURL(folder string, uid uint32) string {
	return Prefix + "raw?" + url.Values{"f": {folder}, "uid": {strconv.FormatUint(uint64(uid), 10)}}.Encode()
}
