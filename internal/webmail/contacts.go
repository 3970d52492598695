package webmail

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"mailserver/internal/message"
)

// The recipients' autocomplete (mail.js): the same directory the CardDAV address book serves (internal/carddav's
// loadSnapshot: every enabled account, every shared mailbox, every group), read through the same store calls, and
// nothing beyond it: only a name and an address leave the server.

// maxContacts bounds one answer: the list under a field, not a copy of the directory.
const maxContacts = 20

// Contact kinds in the JSON answer.
const (
	contactPerson = "person"
	contactShared = "shared"
	contactGroup  = "group"
)

// contact is one suggestion.
type contact struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	Kind    string `json:"kind"`
}

// contacts answers GET /mail/contacts?q=… with the directory entries whose name or address contains the folded
// query ("hung" finds "Nguyễn Văn Hùng"), people first, at most maxContacts.
func (h *Handler) contacts(w http.ResponseWriter, r *http.Request, sess *session) {
	found, err := h.matchContacts(r.URL.Query().Get("q"))
	if err != nil {
		h.log.Error("webmail contacts", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeJSON(w, found)
}

// matchContacts reads the directory and returns the matches of q; an empty query matches nothing.
func (h *Handler) matchContacts(q string) ([]contact, error) {
	needle := message.FoldNeedle(q)
	if needle == "" {
		return []contact{}, nil
	}
	accounts, err := h.store.Accounts()
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	groups, err := h.store.Groups()
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	var all []contact
	for _, a := range accounts {
		if a.Disabled {
			continue // not in the address book either
		}
		kind := contactPerson
		if a.Shared {
			kind = contactShared
		}
		all = append(all, contact{Name: a.Name, Address: a.Address, Kind: kind})
	}
	for _, g := range groups {
		all = append(all, contact{Name: g.Name, Address: g.Address, Kind: contactGroup})
	}
	return pickContacts(all, needle), nil
}

// pickContacts keeps the entries matching the folded needle, sorted by kind (people, shared mailboxes, groups),
// then by address, and cut at maxContacts.
func pickContacts(all []contact, needle string) []contact {
	out := []contact{}
	for _, c := range all {
		if strings.Contains(message.Fold(c.Name), needle) || strings.Contains(message.Fold(c.Address), needle) {
			out = append(out, c)
		}
	}
	rank := map[string]int{contactPerson: 0, contactShared: 1, contactGroup: 2}
	sort.Slice(out, func(i, j int) bool {
		if rank[out[i].Kind] != rank[out[j].Kind] {
			return rank[out[i].Kind] < rank[out[j].Kind]
		}
		return out[i].Address < out[j].Address
	})
	return out[:min(len(out), maxContacts)]
}

// writeJSON answers v as JSON. The values are plain structs and strings, so encoding cannot fail; a write error
// means the client has gone.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// wantsJSON tells a request from mail.js, which asks for JSON, from a form post.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// savedDraft is the JSON answer to a draft saved by mail.js: the draft the form now replaces and the draft's
// attachments, all kept, which the script lists in place of the form's previous ones (the HTML answer's form
// shows the same).
type savedDraft struct {
	Draft   uint32        `json:"draft"`
	Carried []carriedFile `json:"carried"`
	Legend  string        `json:"legend"` // the list's title in the reader's language
}

func (h *Handler) savedJSON(w http.ResponseWriter, r *http.Request, uid uint32, raw []byte) {
	carried := carriedFiles(raw, nil, true)
	if carried == nil {
		carried = []carriedFile{}
	}
	writeJSON(w, savedDraft{Draft: uid, Carried: carried, Legend: words[language(r)]["compose_keep"]})
}
