package webmail

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"mailserver/internal/mailview"
	"mailserver/internal/store"
)

// Writing mail: a plain form (no script) for a new message, a reply, a reply to all and a forward, inline or as
// an attachment. Sending goes through internal/delivery as a submission does (send.go); "save draft" keeps the
// message in Drafts, replacing the draft the same form saved before (drafts.go).

// defaultMaxMessage is the size limit when Options leave it unset: the configuration's default.
const defaultMaxMessage = 50 << 20

// formOverhead is what the form adds to the uploads on top of the message limit (text fields, multipart
// boundaries); the message itself is measured exactly once built.
const formOverhead = 1 << 20

// uploadMemory is how much of an upload net/http keeps in memory; the rest goes to a temporary file.
const uploadMemory = 4 << 20

// Compose modes, from the reader's links.
const (
	modeNew      = ""
	modeReply    = "reply"
	modeReplyAll = "replyall"
	modeForward  = "forward" // the original's text quoted, its attachments carried over
	modeAttach   = "attach"  // the original attached whole, as message/rfc822
)

// routeCompose adds the writing routes when the webmail has a Deliverer.
func (h *Handler) routeCompose() {
	if h.send == nil {
		return
	}
	if h.max <= 0 {
		h.max = defaultMaxMessage
	}
	h.mux.HandleFunc("GET "+Prefix+"compose", h.withSession(h.composeNew))
	h.mux.HandleFunc("POST "+Prefix+"compose", h.limitUpload(h.withSession(h.composeSubmit)))
}

// composeForm is the state the form carries from one request to the next.
type composeForm struct {
	From, To, Cc, Bcc, Subject, Body string
	Mode                             string
	OrigFolder                       string // the message replied to or forwarded
	OrigUID                          uint32
	InReplyTo, References            string // message IDs in angle brackets, for a reply's threading
	DraftUID                         uint32 // the draft in Drafts this form replaces when saved or sent; 0: none
	Keep                             []string
}

// carriedFile is an attachment of the previous draft (or of a message forwarded inline) the form offers to keep.
type carriedFile struct {
	Path string `json:"path"`
	Name string `json:"name"`
	Size string `json:"size"`
	Kept bool   `json:"kept"`
}

type composePage struct {
	page
	Form           composeForm
	FromChoices    []string
	Carried        []carriedFile
	AttachOriginal string // the name of the original attached whole, or ""
	MaxSize        string
}

// composeNew shows the form: empty, or filled from the message replied to or forwarded.
func (h *Handler) composeNew(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	f := composeForm{Mode: q.Get("mode")}
	switch f.Mode {
	case modeNew:
		if q.Has("draft") && !h.openDraft(w, r, sess, &f, q.Get("draft")) {
			return
		}
	case modeReply, modeReplyAll, modeForward, modeAttach:
		uid, err := strconv.ParseUint(q.Get("uid"), 10, 32)
		if err != nil {
			h.notFound(w, r, sess)
			return
		}
		f.OrigFolder, f.OrigUID = q.Get("f"), uint32(uid)
		orig, err := h.original(sess, f)
		if errors.Is(err, errNoFolder) || errors.Is(err, store.ErrNotFound) {
			h.notFound(w, r, sess)
			return
		} else if err != nil {
			h.fail(w, r, "compose", err)
			return
		}
		sendable, err := h.send.SendableAddresses(sess.account)
		if err != nil {
			h.fail(w, r, "compose", err)
			return
		}
		fillFromOriginal(&f, orig, sendable, words[language(r)])
	default:
		h.notFound(w, r, sess)
		return
	}
	h.showCompose(w, r, sess, http.StatusOK, f, "", true)
}

// showCompose renders the form with a notice (a word of words.go, or ""); keepAll ticks every carried file, as
// a new form does.
func (h *Handler) showCompose(w http.ResponseWriter, r *http.Request, sess *session, status int, f composeForm,
	notice string, keepAll bool) {
	h.showComposeText(w, r, sess, status, f, words[language(r)][notice], keepAll)
}

func (h *Handler) showComposeText(w http.ResponseWriter, r *http.Request, sess *session, status int, f composeForm,
	notice string, keepAll bool) {
	p := composePage{page: h.basePage(r, sess, ""), Form: f, MaxSize: formatSize(h.max)}
	p.Message = notice
	choices, err := h.send.SendableAddresses(sess.account)
	if err != nil {
		h.fail(w, r, "compose", err)
		return
	}
	p.FromChoices = choices
	if p.Form.From == "" && len(choices) > 0 {
		p.Form.From = choices[0]
	}
	src, err := h.carrySource(sess, f)
	if err != nil && !errors.Is(err, errNoFolder) && !errors.Is(err, store.ErrNotFound) {
		h.fail(w, r, "compose", err)
		return
	}
	if src != nil {
		p.Carried = carriedFiles(src, f.Keep, keepAll)
	}
	if f.Mode == modeAttach && f.DraftUID == 0 {
		if orig, err := h.original(sess, f); err == nil {
			p.AttachOriginal = originalFileName(orig, p.T)
		}
	}
	h.render(w, status, "compose", p)
}

// carriedFiles lists the attachments of src for the form, ticked when kept.
func carriedFiles(src []byte, keep []string, keepAll bool) []carriedFile {
	v, err := mailview.Render(src, mailview.Options{})
	if err != nil {
		return nil
	}
	var out []carriedFile
	for _, a := range v.Attachments {
		name := a.FileName
		if name == "" {
			name = a.ContentType
		}
		out = append(out, carriedFile{Path: a.Path, Name: name, Size: formatSize(a.Size),
			Kept: keepAll || containsString(keep, a.Path)})
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// limitUpload bounds the request body by the message size limit and reads the multipart form before the session
// check reads its CSRF field, so that an upload over the limit gets a clear page instead of a bare refusal.
func (h *Handler) limitUpload(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, h.max+formOverhead)
		err := r.ParseMultipartForm(uploadMemory)
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			p := h.basePage(r, nil, "")
			p.Message = h.tooBig(r)
			w.Header().Set("Connection", "close") // the rest of the upload is not read
			h.render(w, http.StatusRequestEntityTooLarge, "error", p)
			return
		case err != nil:
			h.render(w, http.StatusBadRequest, "error", h.basePage(r, nil, "error_forbidden"))
			return
		}
		next(w, r)
	}
}

// tooBig says a message is over the size limit, and what the limit is.
func (h *Handler) tooBig(r *http.Request) string {
	return strings.ReplaceAll(words[language(r)]["compose_too_big"], "{max}", formatSize(h.max))
}

// readComposeForm reads the form's fields (the multipart form is already parsed).
func readComposeForm(r *http.Request) composeForm {
	v := r.PostFormValue
	f := composeForm{From: v("from"), To: v("to"), Cc: v("cc"), Bcc: v("bcc"), Subject: v("subject"),
		Body: v("body"), Mode: v("mode"), OrigFolder: v("of"), InReplyTo: v("irt"), References: v("refs"),
		Keep: r.PostForm["keep"]}
	if uid, err := strconv.ParseUint(v("ou"), 10, 32); err == nil {
		f.OrigUID = uint32(uid)
	}
	if uid, err := strconv.ParseUint(v("draft"), 10, 32); err == nil {
		f.DraftUID = uint32(uid)
	}
	return f
}

// composeSubmit sends the message, or saves it as a draft.
func (h *Handler) composeSubmit(w http.ResponseWriter, r *http.Request, sess *session) {
	f := readComposeForm(r)
	out, notice, err := h.assemble(r, sess, f)
	if err != nil {
		h.fail(w, r, "compose", err)
		return
	}
	if notice != "" {
		h.showComposeText(w, r, sess, http.StatusBadRequest, f, notice, false)
		return
	}
	if r.PostFormValue("action") == "save" {
		h.saveDraft(w, r, sess, f, out)
		return
	}
	h.sendMessage(w, r, sess, f, out)
}

// openDraft fills f from the draft uid of the account's Drafts, marked \Draft; false once it has answered (404).
func (h *Handler) openDraft(w http.ResponseWriter, r *http.Request, sess *session, f *composeForm, uid string) bool {
	n, err := strconv.ParseUint(uid, 10, 32)
	drafts, derr := h.specialMailbox(sess.account, `\Drafts`)
	if err != nil || derr != nil {
		h.notFound(w, r, sess)
		return false
	}
	msgs, err := h.store.Messages(drafts.ID, []uint32{uint32(n)}, store.FetchOptions{})
	if err != nil || len(msgs) == 0 || !slices.Contains(msgs[0].Flags, `\Draft`) {
		h.notFound(w, r, sess)
		return false
	}
	raw, err := h.readBody(msgs[0])
	if err != nil {
		h.fail(w, r, "open draft", err)
		return false
	}
	fillFromDraft(f, raw, msgs[0].UID)
	return true
}
