package webmail

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"mailserver/internal/mailview"
	"mailserver/internal/store"
)

// openMessage finds the message the request names (f and uid) in a folder the session may read, and reads it
// whole; ok is false once it has answered (404, or an internal error).
func (h *Handler) openMessage(w http.ResponseWriter, r *http.Request, sess *session) (f openFolder, m store.Message, raw []byte, ok bool) {
	f, err := h.resolveFolder(sess.account, r.URL.Query().Get("f"))
	uid, uidErr := strconv.ParseUint(r.URL.Query().Get("uid"), 10, 32)
	if errors.Is(err, errNoFolder) || uidErr != nil {
		h.notFound(w, r, sess)
		return f, m, nil, false
	} else if err != nil {
		h.fail(w, r, "open message", err)
		return f, m, nil, false
	}
	msgs, err := h.store.Messages(f.Mailbox.ID, []uint32{uint32(uid)}, store.FetchOptions{})
	if err != nil {
		h.fail(w, r, "open message", err)
		return f, m, nil, false
	}
	if len(msgs) == 0 {
		h.notFound(w, r, sess)
		return f, m, nil, false
	}
	raw, err = h.readBody(msgs[0])
	if err != nil {
		h.fail(w, r, "open message", err)
		return f, m, nil, false
	}
	return f, msgs[0], raw, true
}

// htmlDocumentCSP is the policy of a framed HTML body: a sandbox (no script, no form, an origin of its own, no
// navigation of the page around it), inline style only, images inlined as data: URLs and, when the reader allowed
// them, from the web; framed by the webmail's own pages only.
func htmlDocumentCSP(remoteImages bool) string {
	img := "data:"
	if remoteImages {
		img += " https: http:"
	}
	return "sandbox; default-src 'none'; img-src " + img + "; style-src 'unsafe-inline'; base-uri 'none'; " +
		"form-action 'none'; frame-ancestors 'self'"
}

// html serves a message's HTML body, sanitised by internal/mailview, as a document of its own for the reading
// page's sandboxed frame.
func (h *Handler) html(w http.ResponseWriter, r *http.Request, sess *session) {
	_, _, raw, ok := h.openMessage(w, r, sess)
	if !ok {
		return
	}
	remote := r.URL.Query().Get("images") == "1"
	v, err := mailview.Render(raw, mailview.Options{AllowRemoteImages: remote, PartURL: inlineImage(raw)})
	if err != nil || v.HTML == "" {
		h.notFound(w, r, sess)
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", htmlDocumentCSP(remote))
	hd.Set("X-Frame-Options", "SAMEORIGIN")
	hd.Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(v.HTML))
}

// part serves one part of a message for download (an attachment; a PDF or an image is shown by the browser),
// decoded, under its own name (RFC 6266); the page's policy still applies to whatever the browser shows.
func (h *Handler) part(w http.ResponseWriter, r *http.Request, sess *session) {
	_, _, raw, ok := h.openMessage(w, r, sess)
	if !ok {
		return
	}
	ctype, name, body, err := mailview.Part(raw, r.URL.Query().Get("p"))
	if errors.Is(err, mailview.ErrNoPart) {
		h.notFound(w, r, sess)
		return
	} else if err != nil {
		h.fail(w, r, "part", err)
		return
	}
	hd := w.Header()
	disposition := mailview.ContentDisposition(name, ctype)
	if strings.HasPrefix(disposition, "inline") {
		// A PDF or a raster image the browser shows itself: its PDF viewer does not run under the pages' policy.
		// Nothing else is ever inline (mailview.ContentDisposition), and nosniff keeps the type as sent.
		hd.Del("Content-Security-Policy")
	}
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Disposition", disposition)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}
