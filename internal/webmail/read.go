package webmail

import (
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/mailview"
	"mailserver/internal/message"
	"mailserver/internal/store"
)

// maxShownText bounds the decoded text a page shows of one part.
const maxShownText = 2 << 20

// bodyView is what the reader shows of a message's body. Its fields are plain text or URLs: html/template escapes
// them. An HTML body is not in the page: the page frames it from htmlURL, a sandboxed document of its own.
type bodyView struct {
	Text          string
	HasText       bool
	HTMLURL       string // the framed HTML body; "" if the message has none
	ImagesBlocked bool   // the HTML body refers to remote images, left out
	ShowImagesURL string
	Attachments   []attachment
}

type attachment struct {
	Name string
	Type string
	Size string
	URL  string // the download
}

// maxInlineImage bounds an image a cid: reference shows inline, as a data: URL in the framed document: the frame is
// a sandbox with an origin of its own, which the session cookie (SameSite=Strict) does not reach.
const maxInlineImage = 2 << 20

// viewBody is what the reader shows of a message: internal/mailview's safe view of it (the text, the HTML framed
// apart, the attachments with their download links).
func viewBody(raw []byte, folder string, uid uint32, remoteImages bool) (bodyView, error) {
	v, err := mailview.Render(raw, mailview.Options{AllowRemoteImages: remoteImages, PartURL: inlineImage(raw)})
	if err != nil {
		return bodyView{}, err
	}
	out := bodyView{Text: v.Text, HasText: v.Text != "", ImagesBlocked: v.RemoteImagesBlocked}
	if v.HTML != "" {
		out.HTMLURL = htmlURL(folder, uid, remoteImages)
		out.ShowImagesURL = readURL(folder, uid) + "&images=1"
	}
	for _, a := range v.Attachments {
		if a.Inline && a.ContentID != "" {
			continue // shown in the HTML body
		}
		out.Attachments = append(out.Attachments, attachment{Name: a.FileName, Type: a.ContentType,
			Size: formatSize(int64(a.Size)), URL: partURL(folder, uid, a.Path)})
	}
	return out, nil
}

// inlineImage is mailview's PartURL: a raster image part as a data: URL, "" (left out) for anything else.
func inlineImage(raw []byte) func(path string) string {
	return func(path string) string {
		ctype, _, body, err := mailview.Part(raw, path)
		if err != nil || len(body) > maxInlineImage {
			return ""
		}
		mt, _, _ := mime.ParseMediaType(ctype)
		switch mt {
		case "image/png", "image/jpeg", "image/gif", "image/webp":
			return "data:" + mt + ";base64," + base64.StdEncoding.EncodeToString(body)
		}
		return ""
	}
}

func readURL(folder string, uid uint32) string {
	return Prefix + "read?" + url.Values{"f": {folder}, "uid": {strconv.FormatUint(uint64(uid), 10)}}.Encode()
}

func htmlURL(folder string, uid uint32, remoteImages bool) string {
	q := url.Values{"f": {folder}, "uid": {strconv.FormatUint(uint64(uid), 10)}}
	if remoteImages {
		q.Set("images", "1")
	}
	return Prefix + "html?" + q.Encode()
}

func partURL(folder string, uid uint32, path string) string {
	return Prefix + "part?" + url.Values{"f": {folder}, "uid": {strconv.FormatUint(uint64(uid), 10)},
		"p": {path}}.Encode()
}

type readPage struct {
	page
	Folder   string
	UID      uint32
	Subject  string
	From     string
	To       string
	Cc       string
	Date     string
	Body     bodyView
	ReadOnly bool
	Draft    bool       // a draft of the user's own, which the compose form opens to go on writing
	Actions  *actionBar // nil: the folder is read-only (actions.go)
}

// read shows one message and marks it \Seen through the store's flag path, as a FETCH of BODY[] would (RFC 9051
// section 6.4.5), unless the folder is read-only for this account.
func (h *Handler) read(w http.ResponseWriter, r *http.Request, sess *session) {
	if r.URL.Query().Get("headers") == "1" {
		h.readHeaders(w, r, sess)
		return
	}
	f, err := h.resolveFolder(sess.account, r.URL.Query().Get("f"))
	uid, uidErr := strconv.ParseUint(r.URL.Query().Get("uid"), 10, 32)
	if errors.Is(err, errNoFolder) || uidErr != nil {
		h.notFound(w, r, sess)
		return
	} else if err != nil {
		h.fail(w, r, "read", err)
		return
	}
	msgs, err := h.store.Messages(f.Mailbox.ID, []uint32{uint32(uid)}, store.FetchOptions{Meta: true})
	if err != nil {
		h.fail(w, r, "read", err)
		return
	}
	if len(msgs) == 0 {
		h.notFound(w, r, sess)
		return
	}
	m := msgs[0]
	raw, err := h.readBody(m)
	if err != nil {
		h.fail(w, r, "read", err)
		return
	}
	parsed := message.Parse(raw)
	body, err := viewBody(raw, f.Name, m.UID, r.URL.Query().Get("images") == "1")
	if err != nil {
		h.fail(w, r, "read", err)
		return
	}
	p := readPage{page: h.basePage(r, sess, ""), Folder: f.Name, UID: m.UID, Body: body,
		Date: formatDate(m.InternalDate), ReadOnly: !f.Writable,
		Draft: f.Writable && !strings.HasPrefix(f.Name, sharedPrefix) && slices.Contains(m.Flags, `\Draft`)}
	if env := parsed.Envelope; env != nil {
		p.Subject, p.From, p.To, p.Cc = env.Subject, addressList(env.From), addressList(env.To), addressList(env.Cc)
		if !env.Date.IsZero() {
			p.Date = formatDate(env.Date)
		}
	}
	if p.Subject == "" {
		p.Subject = p.T["no_subject"]
	}
	p.Actions, err = h.actionBar(sess, f, p.CSRF, p.T, listURL(f.Name, "", 1), readURL(f.Name, m.UID), []uint32{m.UID})
	if err != nil {
		h.fail(w, r, "read", err)
		return
	}
	if f.Writable && !slices.Contains(m.Flags, `\Seen`) {
		if _, err := h.store.SetFlags(f.Mailbox.ID, []uint32{m.UID}, store.FlagsAdd, []string{`\Seen`}, nil); err != nil {
			h.fail(w, r, "mark seen", err)
			return
		}
	}
	h.render(w, http.StatusOK, "read", p)
}

// readBody reads a stored body whole (the parser needs it all; message sizes are bounded at delivery).
func (h *Handler) readBody(m store.Message) ([]byte, error) {
	raw := make([]byte, m.BodySize)
	if _, err := h.store.Body(m.Body, m.BodySize).ReadAt(raw, 0); err != nil {
		return nil, fmt.Errorf("read body of uid %d: %w", m.UID, err)
	}
	return raw, nil
}

// addressList writes addresses as "Name <address>", or the bare address without a name.
func addressList(list []imap.Address) string {
	parts := make([]string, 0, len(list))
	for _, a := range list {
		addr := a.Addr()
		switch {
		case a.Name != "" && addr != "":
			parts = append(parts, a.Name+" <"+addr+">")
		case a.Name != "":
			parts = append(parts, a.Name)
		default:
			parts = append(parts, addr)
		}
	}
	return strings.Join(parts, ", ")
}
