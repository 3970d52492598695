package webmail

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"mailserver/internal/netaddr"
	"mailserver/internal/store"
)

// trashUse is the special use of the folder "delete" moves messages to (RFC 6154).
const trashUse = `\Trash`

// actionBar is the form of message actions on the list, search and reading pages. The list's checkboxes belong to
// it through their form attribute, so that one form, without script, acts on the messages ticked.
type actionBar struct {
	T       map[string]string
	CSRF    string
	Folder  string
	UIDs    []uint32 // the reading page's message; the list's come from its checkboxes
	Back    string   // where to go after an action (the list or the search results)
	Here    string   // the reading page, to go back to after a change of flags; "" elsewhere
	Targets []folder // the folders messages may be moved to
	InTrash bool     // delete is for good here, after a confirming page
}

// actionBar is the form for folder f, nil when the session may not change it (a shared mailbox without the write
// right), so that no action is offered.
func (h *Handler) actionBar(sess *session, f openFolder, csrf string, t map[string]string, back, here string,
	uids []uint32) (*actionBar, error) {
	if !f.Writable {
		return nil, nil
	}
	targets, err := h.moveTargets(sess.account, t)
	if err != nil {
		return nil, err
	}
	targets = slices.DeleteFunc(targets, func(x folder) bool { return x.Name == f.Name })
	return &actionBar{T: t, CSRF: csrf, Folder: f.Name, UIDs: uids, Back: back, Here: here, Targets: targets,
		InTrash: f.Mailbox.SpecialUse == trashUse}, nil
}

// moveTargets are the folders the account may move messages to: its own, and those of the shared mailboxes it
// may write to (as IMAP's MOVE allows, internal/imap/copy.go).
func (h *Handler) moveTargets(acct store.Account, t map[string]string) ([]folder, error) {
	own, err := h.store.Mailboxes(acct.ID)
	if err != nil {
		return nil, err
	}
	out := folderLines(own, "", t)
	grants, err := h.store.GrantsTo(acct.ID)
	if err != nil {
		return nil, err
	}
	for _, g := range grants {
		if g.Rights&store.RightWrite == 0 {
			continue
		}
		sh, err := h.store.Account(g.Shared)
		if errors.Is(err, store.ErrAccountNotFound) {
			continue // removed since the grant was read
		} else if err != nil {
			return nil, err
		}
		boxes, err := h.store.Mailboxes(sh.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, folderLines(boxes, g.Shared, t)...)
	}
	return slices.DeleteFunc(out, func(x folder) bool { return !x.Select }), nil
}

// actionForm is a POST of the action form, checked.
type actionForm struct {
	folder openFolder
	uids   []uint32 // ascending, no duplicates
	back   string
	here   string
}

// act carries out an action of the form on the messages ticked: flags, a move, delete (to Trash; in Trash, a
// confirming page, then expunge). Every action needs the write right on a shared mailbox: without it the POST is
// refused with 403, whatever the form said. Afterwards the browser is sent back with 303 (RFC 9110 section
// 15.4.4), so that reloading does not post again.
func (h *Handler) act(w http.ResponseWriter, r *http.Request, sess *session) {
	form, ok := h.actionForm(w, r, sess)
	if !ok {
		return
	}
	var err error
	next := form.back
	switch r.PostFormValue("do") {
	case "seen", "unseen", "flag", "unflag":
		err = h.setFlags(form, r.PostFormValue("do"))
		if form.here != "" && r.PostFormValue("do") != "unseen" { // reading it again would mark it read
			next = form.here
		}
	case "move":
		if !h.moveTo(w, r, sess, form) {
			return
		}
	case "delete":
		if form.folder.Mailbox.SpecialUse == trashUse {
			h.confirmExpunge(w, r, sess, form)
			return
		}
		if !h.moveToTrash(w, r, sess, form) {
			return
		}
	case "expunge":
		if form.folder.Mailbox.SpecialUse != trashUse {
			h.badRequest(w, r, sess)
			return
		}
		err = h.expunge(sess, r, form)
	default:
		h.badRequest(w, r, sess)
		return
	}
	if err != nil {
		h.fail(w, r, "message action", err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// actionForm reads and checks the form: a folder the session may see (404 otherwise) and change (403), UIDs.
func (h *Handler) actionForm(w http.ResponseWriter, r *http.Request, sess *session) (actionForm, bool) {
	f, err := h.resolveFolder(sess.account, r.PostFormValue("f"))
	if errors.Is(err, errNoFolder) {
		h.notFound(w, r, sess)
		return actionForm{}, false
	} else if err != nil {
		h.fail(w, r, "message action", err)
		return actionForm{}, false
	}
	if !f.Writable {
		h.forbidden(w, r)
		return actionForm{}, false
	}
	form := actionForm{folder: f, back: localURL(r.PostFormValue("back"), listURL(f.Name, "", 1)),
		here: localURL(r.PostFormValue("here"), "")}
	for _, v := range r.PostForm["uid"] {
		uid, err := strconv.ParseUint(v, 10, 32)
		if err != nil || uid == 0 {
			h.badRequest(w, r, sess)
			return actionForm{}, false
		}
		form.uids = append(form.uids, uint32(uid))
	}
	slices.Sort(form.uids)
	form.uids = slices.Compact(form.uids)
	if len(form.uids) == 0 { // nothing ticked: nothing to do
		http.Redirect(w, r, form.back, http.StatusSeeOther)
		return actionForm{}, false
	}
	return form, true
}

// localURL is u if it is one of the webmail's pages, else def: the form's return address must not send the
// browser to another site (an open redirect).
func localURL(u, def string) string {
	for _, p := range []string{"list?", "read?", "search?"} {
		if strings.HasPrefix(u, Prefix+p) {
			return u
		}
	}
	return def
}

// setFlags changes \Seen or \Flagged through the store's flag path, as IMAP's STORE does; other sessions learn of
// it from the store's listener.
func (h *Handler) setFlags(form actionForm, do string) error {
	op, flag := store.FlagsAdd, `\Seen`
	switch do {
	case "unseen":
		op = store.FlagsRemove
	case "flag":
		flag = `\Flagged`
	case "unflag":
		op, flag = store.FlagsRemove, `\Flagged`
	}
	_, err := h.store.SetFlags(form.folder.Mailbox.ID, form.uids, op, []string{flag}, nil)
	return err
}

// moveTo moves the messages to the folder the form names, which the session must be able to write to.
func (h *Handler) moveTo(w http.ResponseWriter, r *http.Request, sess *session, form actionForm) bool {
	dst, err := h.resolveFolder(sess.account, r.PostFormValue("to"))
	switch {
	case errors.Is(err, errNoFolder):
		h.notFound(w, r, sess)
		return false
	case err != nil:
		h.fail(w, r, "move", err)
		return false
	case !dst.Writable:
		h.forbidden(w, r)
		return false
	case dst.Mailbox.ID == form.folder.Mailbox.ID:
		return true
	}
	if err := h.move(sess, r, form, dst); err != nil {
		h.fail(w, r, "move", err)
		return false
	}
	return true
}

// moveToTrash moves the messages to the Trash of the mailbox they are in: a shared mailbox's own Trash, where its
// other users can still find them, not the reader's.
func (h *Handler) moveToTrash(w http.ResponseWriter, r *http.Request, sess *session, form actionForm) bool {
	boxes, err := h.store.Mailboxes(form.folder.Mailbox.AccountID)
	if err != nil {
		h.fail(w, r, "delete", err)
		return false
	}
	i := slices.IndexFunc(boxes, func(m store.Mailbox) bool { return m.SpecialUse == trashUse && !m.NoSelect })
	if i < 0 {
		h.render(w, http.StatusConflict, "error", h.basePage(r, sess, "no_trash"))
		return false
	}
	trash := openFolder{Mailbox: boxes[i], Owner: form.folder.Owner}
	if err := h.move(sess, r, form, trash); err != nil {
		h.fail(w, r, "delete", err)
		return false
	}
	return true
}

// move moves the messages in one store transaction (RFC 6851's MOVE), audited, as IMAP audits it, when they leave
// a shared mailbox.
func (h *Handler) move(sess *session, r *http.Request, form actionForm, dst openFolder) error {
	src := form.folder
	st := h.auditedStore(sess, r, src, auditMove, func(uids []uint32) string {
		return fmt.Sprintf("%s to %s", auditMessages(uids), auditName(sess, dst))
	})
	_, err := st.Move(src.Mailbox.ID, form.uids, dst.Mailbox.ID, nil)
	return err
}

// expunge removes the messages for good, as a client does it: flag them \Deleted, then expunge those (RFC 4315
// UID EXPUNGE), so that a message flagged \Deleted but not ticked stays.
func (h *Handler) expunge(sess *session, r *http.Request, form actionForm) error {
	id := form.folder.Mailbox.ID
	if _, err := h.store.SetFlags(id, form.uids, store.FlagsAdd, []string{`\Deleted`}, nil); err != nil {
		return err
	}
	st := h.auditedStore(sess, r, form.folder, auditExpunge, auditMessages)
	_, err := st.Expunge(id, form.uids, nil)
	return err
}

type confirmPage struct {
	page
	Folder string
	UIDs   []uint32
	Back   string
}

// confirmExpunge asks before deleting for good: nothing is changed until its form is posted.
func (h *Handler) confirmExpunge(w http.ResponseWriter, r *http.Request, sess *session, form actionForm) {
	p := confirmPage{page: h.basePage(r, sess, ""), Folder: form.folder.Name, UIDs: form.uids, Back: form.back}
	p.Message = fmt.Sprintf(p.T["confirm_expunge"], len(form.uids))
	h.render(w, http.StatusOK, "confirm", p)
}

func (h *Handler) badRequest(w http.ResponseWriter, r *http.Request, sess *session) {
	h.render(w, http.StatusBadRequest, "error", h.basePage(r, sess, "error_bad_request"))
}

// Audit actions, as internal/imap/audit.go names them: changes to shared mailboxes (issue 3, point 5).
const (
	auditMove    = "shared.move"
	auditExpunge = "shared.expunge"
)

// auditedStore is the store that records, in the transaction of the change, what left the shared folder f; for
// the account's own folders it records nothing, as IMAP does.
func (h *Handler) auditedStore(sess *session, r *http.Request, f openFolder, action string,
	detail func(uids []uint32) string) *store.Store {
	if f.Owner == "" {
		return h.store
	}
	return h.store.WithAuditOf(func(chs []store.Change) []store.AuditRecord {
		var removed []uint32
		for _, c := range chs {
			if c.MailboxID == f.Mailbox.ID {
				removed = append(removed, c.Expunged...)
			}
		}
		if len(removed) == 0 {
			return nil
		}
		return []store.AuditRecord{{Actor: sess.account.Address, Action: action, Target: auditName(sess, f),
			Detail: detail(removed), From: netaddr.Host(remoteAddr(r))}}
	})
}

// auditName names a folder "<owner address>/<folder>", as IMAP's audit records do.
func auditName(sess *session, f openFolder) string {
	owner := f.Owner
	if owner == "" {
		owner = sess.account.Address
	}
	return owner + string(store.Delimiter) + f.Mailbox.Name
}

// maxAuditUIDs bounds the UID list in an audit record's detail; the count is always exact.
const maxAuditUIDs = 500

// auditMessages describes the messages acted on: "3 messages (UIDs 4,5,9)".
func auditMessages(uids []uint32) string {
	list := make([]string, 0, min(len(uids), maxAuditUIDs)+1)
	for _, u := range uids[:min(len(uids), maxAuditUIDs)] {
		list = append(list, strconv.FormatUint(uint64(u), 10))
	}
	if len(uids) > maxAuditUIDs {
		list = append(list, "…")
	}
	noun := "messages"
	if len(uids) == 1 {
		noun = "message"
	}
	return fmt.Sprintf("%d %s (UIDs %s)", len(uids), noun, strings.Join(list, ","))
}
