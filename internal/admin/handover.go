package admin

import (
	"errors"
	"fmt"

	"mailserver/internal/store"
)

// HandoverResult tells what Handover copied, and where the successor now stands with its quota.
type HandoverResult struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Folder   string `json:"folder"`   // the successor's folder holding the copy, e.g. "Bàn giao/an.nv@vinhyen.gov.vn"
	Folders  int    `json:"folders"`  // folders copied
	Messages int    `json:"messages"` // messages copied
	Bytes    int64  `json:"bytes"`    // their size, now counted in the successor's usage
	Used     int64  `json:"used"`     // the successor's usage after the handover, bytes
	Quota    int64  `json:"quota"`    // the successor's quota, bytes; 0 means unlimited
}

// OverQuota tells whether the successor is now over its quota, so that new mail to it will be refused.
func (r HandoverResult) OverQuota() bool { return r.Quota > 0 && r.Used > r.Quota }

// Handover gives the successor (to) a copy of all the mail of a user who leaves (from): every folder of from
// appears in to's mailbox under "Bàn giao/<from>/…", in one transaction. The successor owns the copy, so it stays
// when from is disabled or removed; bodies are shared, so the copy costs no space beyond its index, though it
// counts in the successor's usage. From is left as it is. A second handover of from to the same successor is
// refused (the folder exists), so that nothing is copied twice.
func (s *Service) Handover(from, to string) (HandoverResult, error) {
	old, heir, err := s.handoverParties(from, to)
	if err != nil {
		return HandoverResult{}, err
	}
	folder := store.HandoverFolder + string(store.Delimiter) + old
	r, err := s.audited("user.handover", old, fmt.Sprintf("to %s, copied under %q", heir, folder)).Handover(old, heir)
	switch {
	case errors.Is(err, store.ErrMailboxExists):
		return HandoverResult{}, failf(ErrExists,
			"%s was already handed over to %s (folder %q): a second handover would copy everything twice",
			old, heir, store.HandoverFolder+string(store.Delimiter)+old)
	case errors.Is(err, store.ErrAccountNotFound):
		return HandoverResult{}, failf(ErrNotFound, "%s or %s no longer exists: see 'mailserver user list'", old, heir)
	case err != nil:
		return HandoverResult{}, err
	}
	res := HandoverResult{From: old, To: heir, Folder: r.Folder, Folders: r.Mailboxes, Messages: r.Messages, Bytes: r.Bytes}
	// The usage only informs the administrator; the handover is done whether or not it can be read.
	if a, err := s.st.Account(heir); err == nil {
		res.Used, res.Quota = a.Used, a.Quota
	}
	return res, nil
}

// handoverParties cleans and checks the two addresses of a handover: from must be a user, to another user or a
// shared mailbox.
func (s *Service) handoverParties(from, to string) (old, heir string, err error) {
	if old, _, err = cleanAddress(from); err != nil {
		return "", "", err
	}
	if heir, _, err = cleanAddress(to); err != nil {
		return "", "", err
	}
	if old == heir {
		return "", "", failf(ErrInvalid, "%s cannot be handed over to itself: name the successor's account", old)
	}
	e, err := s.st.Lookup(old)
	if err != nil {
		return "", "", err
	}
	switch {
	case e.Kind == store.KindNone:
		return "", "", userErr(old, store.ErrAccountNotFound)
	case e.Kind == store.KindAlias:
		return "", "", failf(ErrInvalid, "%s is an alias of %s: hand over the account itself", old, e.Alias.Target)
	case e.Kind == store.KindGroup:
		return "", "", failf(ErrInvalid, "%s is a group: it has no mail of its own to hand over", old)
	case e.Account.Shared:
		return "", "", failf(ErrInvalid, "%s is a shared mailbox: give the successor access with 'mailserver share grant %s ACCOUNT --rights read' instead",
			old, old)
	}
	if e, err = s.st.Lookup(heir); err != nil {
		return "", "", err
	}
	switch e.Kind {
	case store.KindNone:
		return "", "", userErr(heir, store.ErrAccountNotFound)
	case store.KindAlias:
		return "", "", failf(ErrInvalid, "%s is an alias of %s: hand over to the account itself", heir, e.Alias.Target)
	case store.KindGroup:
		return "", "", failf(ErrInvalid, "%s is a group: hand over to one person's account (or a shared mailbox)", heir)
	}
	return old, heir, nil
}
