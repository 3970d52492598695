package webmail

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"mailserver/internal/store"
)

// Shared mailboxes appear as IMAP shows them (internal/imap/namespace.go): "Shared/<address>" for the shared
// INBOX and "Shared/<address>/<folder>" for its other folders, for the accounts with read rights.
const sharedPrefix = "Shared" + string(store.Delimiter)

// page is what every page shows: the words, the language, the account and the session's CSRF token.
type page struct {
	T       map[string]string
	Lang    string
	Account string
	CSRF    string
	Message string // a notice in the reader's language, or ""
}

func (h *Handler) basePage(r *http.Request, sess *session, message string) page {
	lang := language(r)
	p := page{T: words[lang], Lang: lang}
	if message != "" {
		p.Message = p.T[message]
	}
	if sess != nil {
		p.Account, p.CSRF = sess.account.Address, sess.csrf
	}
	return p
}

// folder is one line of the folder list.
type folder struct {
	Name   string // the name in the webmail's URLs, as IMAP would show it
	Label  string // what the reader sees: the last level, a default folder in the reader's language
	Depth  int
	Unread uint32
	Select bool // false for a placeholder kept for its children
}

type foldersPage struct {
	page
	Own, Shared []folder
}

func (h *Handler) folders(w http.ResponseWriter, r *http.Request, sess *session) {
	p := foldersPage{page: h.basePage(r, sess, "")}
	own, err := h.store.Mailboxes(sess.account.ID)
	if err != nil {
		h.fail(w, r, "folders", err)
		return
	}
	p.Own = folderLines(own, "", p.T)
	grants, err := h.readableGrants(sess.account.ID)
	if err != nil {
		h.fail(w, r, "folders", err)
		return
	}
	for _, g := range grants {
		sh, err := h.store.Account(g.Shared)
		if errors.Is(err, store.ErrAccountNotFound) {
			continue // removed since the grant was read
		} else if err != nil {
			h.fail(w, r, "folders", err)
			return
		}
		boxes, err := h.store.Mailboxes(sh.ID)
		if err != nil {
			h.fail(w, r, "folders", err)
			return
		}
		p.Shared = append(p.Shared, folderLines(boxes, g.Shared, p.T)...)
	}
	h.render(w, http.StatusOK, "folders", p)
}

// folderLines lists mailboxes in the delimiter tree's order (Mailboxes returns them by name, so a parent comes
// right before its children), INBOX first.
func folderLines(boxes []store.Mailbox, shared string, t map[string]string) []folder {
	var out []folder
	for _, inbox := range []bool{true, false} {
		for _, m := range boxes {
			if (m.Name == "INBOX") != inbox {
				continue
			}
			levels := strings.Split(m.Name, string(store.Delimiter))
			label := levels[len(levels)-1]
			if len(levels) == 1 && t["folder_"+label] != "" {
				label = t["folder_"+label]
			}
			name := m.Name
			if shared != "" {
				name = sharedName(shared, m.Name)
				if m.Name == "INBOX" {
					label = shared
				}
			}
			out = append(out, folder{Name: name, Label: label, Depth: len(levels) - 1, Unread: m.Unseen,
				Select: !m.NoSelect})
		}
	}
	return out
}

func sharedName(address, storeName string) string {
	if storeName == "INBOX" {
		return sharedPrefix + address
	}
	return sharedPrefix + address + string(store.Delimiter) + storeName
}

// readableGrants are the grants that let the account read a shared mailbox (write implies read; send alone
// shows nothing), as IMAP's visibleRights reads them.
func (h *Handler) readableGrants(accountID uint64) ([]store.Grant, error) {
	grants, err := h.store.GrantsTo(accountID)
	if err != nil {
		return nil, err
	}
	out := grants[:0]
	for _, g := range grants {
		if g.Rights&(store.RightRead|store.RightWrite) != 0 {
			out = append(out, g)
		}
	}
	return out, nil
}

// openFolder is a folder the session may read.
type openFolder struct {
	Name     string // as in the URLs
	Mailbox  store.Mailbox
	Writable bool   // own folders, and shared ones with write rights
	Owner    string // the shared mailbox's address; "" for the account's own folders
}

// errNoFolder: no such folder, or a shared one without read rights; the two look alike so that a shared
// mailbox's existence is not revealed.
var errNoFolder = fmt.Errorf("webmail: %w", store.ErrMailboxNotFound)

// resolveFolder maps a folder name from a URL to the mailbox it names, reading the grants on each request so that
// a revoke takes effect at once.
func (h *Handler) resolveFolder(acct store.Account, name string) (openFolder, error) {
	if !strings.HasPrefix(name, sharedPrefix) {
		mb, err := h.store.Mailbox(acct.ID, name)
		return openFolder{Name: name, Mailbox: mb, Writable: true}, folderError(err, mb)
	}
	rest := name[len(sharedPrefix):]
	grants, err := h.readableGrants(acct.ID)
	if err != nil {
		return openFolder{}, err
	}
	for _, g := range grants {
		n := len(g.Shared)
		if len(rest) < n || !strings.EqualFold(rest[:n], g.Shared) || len(rest) > n && rest[n] != store.Delimiter {
			continue
		}
		owner, err := h.store.Account(g.Shared)
		if err != nil {
			return openFolder{}, folderError(err, store.Mailbox{})
		}
		storeName := "INBOX"
		if len(rest) > n {
			storeName = rest[n+1:]
		}
		mb, err := h.store.Mailbox(owner.ID, storeName)
		return openFolder{Name: name, Mailbox: mb, Writable: g.Rights&store.RightWrite != 0, Owner: g.Shared},
			folderError(err, mb)
	}
	return openFolder{}, errNoFolder
}

func folderError(err error, mb store.Mailbox) error {
	switch {
	case errors.Is(err, store.ErrMailboxNotFound), errors.Is(err, store.ErrAccountNotFound):
		return errNoFolder
	case err != nil:
		return err
	case mb.NoSelect:
		return errNoFolder
	}
	return nil
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, sess *session) {
	h.render(w, http.StatusNotFound, "error", h.basePage(r, sess, "error_not_found"))
}
