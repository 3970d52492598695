package webmail

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// maxShownText bounds the decoded text a page shows of one part.
const maxShownText = 2 << 20

// bodyView is what the reader shows of a message's body. Its fields are plain text: html/template escapes them.
type bodyView struct {
	Text        string
	HasText     bool
	Attachments []attachment
}

type attachment struct {
	Name string
	Type string
	Size string
}

// viewBody is the seam where internal/mailview's safe view of a message (sanitised HTML, inline images) plugs in:
// for now the first text/plain part that is no attachment, and the attachments by name.
func viewBody(raw []byte, parsed *message.Parsed) bodyView {
	var v bodyView
	walkParts(parsed.Root, func(p *message.Part) {
		name := partName(p)
		switch {
		case p.Type == "text" && p.Subtype == "plain" && name == "" && p.Disposition != "attachment" && !v.HasText:
			v.Text, v.HasText = message.PartText(raw, p, maxShownText), true
		case name != "" || p.Disposition == "attachment":
			v.Attachments = append(v.Attachments, attachment{Name: name, Type: p.Type + "/" + p.Subtype,
				Size: formatSize(p.End - p.BodyStart)})
		}
	})
	return v
}

// walkParts calls fn for each leaf part, in order; an attached message is one leaf.
func walkParts(p *message.Part, fn func(*message.Part)) {
	if p == nil {
		return
	}
	if len(p.Children) > 0 {
		for _, c := range p.Children {
			walkParts(c, fn)
		}
		return
	}
	fn(p)
}

// partName is a part's file name (RFC 2183 filename, else the older Content-Type name), decoded by the parser.
func partName(p *message.Part) string {
	if n := p.DispositionParams["filename"]; n != "" {
		return n
	}
	return p.Params["name"]
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
}

// read shows one message and marks it \Seen through the store's flag path, as a FETCH of BODY[] would (RFC 9051
// section 6.4.5), unless the folder is read-only for this account.
func (h *Handler) read(w http.ResponseWriter, r *http.Request, sess *session) {
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
	p := readPage{page: h.basePage(r, sess, ""), Folder: f.Name, UID: m.UID, Body: viewBody(raw, parsed),
		Date: formatDate(m.InternalDate), ReadOnly: !f.Writable}
	if env := parsed.Envelope; env != nil {
		p.Subject, p.From, p.To, p.Cc = env.Subject, addressList(env.From), addressList(env.To), addressList(env.Cc)
		if !env.Date.IsZero() {
			p.Date = formatDate(env.Date)
		}
	}
	if p.Subject == "" {
		p.Subject = p.T["no_subject"]
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
