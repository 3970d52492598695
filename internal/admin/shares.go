package admin

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"mailserver/internal/store"
)

// AddSharedRequest describes a new shared mailbox (a unit's clerk office, "văn thư"). Quota is in bytes, 0 for
// unlimited.
type AddSharedRequest struct {
	Address string `json:"address"`
	Name    string `json:"name,omitempty"`
	Unit    string `json:"unit,omitempty"`
	Quota   int64  `json:"quota,omitempty"`
}

// GrantInfo is one account's rights on a shared mailbox.
type GrantInfo struct {
	Shared  string `json:"shared"`
	Account string `json:"account"`
	Rights  string `json:"rights"` // "read", "read,write", "read,write,send", …
}

// SharedInfo is a shared mailbox with the accounts granted rights on it.
type SharedInfo struct {
	UserInfo
	Grants []GrantInfo `json:"grants,omitempty"`
}

// AddShared creates a shared mailbox: it receives mail, nobody logs in as it, and granted staff open it.
func (s *Service) AddShared(req AddSharedRequest) (UserInfo, error) {
	const kind = "shared mailbox"
	f, err := s.newAccountFields(req.Address, req.Name, req.Unit, req.Quota, kind)
	if err != nil {
		return UserInfo{}, err
	}
	a := store.Account{Address: f.addr, Name: f.name, Unit: f.unit, Quota: req.Quota}
	a, err = s.audited("share.add", f.addr, accountDetail(a)).AddShared(a)
	if err != nil {
		return UserInfo{}, s.addAccountErr(err, f.addr, f.domain, f.unit, kind)
	}
	return userInfo(a), nil
}

// Grant adds rights (read, write, send; each may also be a comma-separated list) for account on a shared mailbox,
// keeping those it had, and returns the rights it now has.
func (s *Service) Grant(shared, account string, rights []string) (GrantInfo, error) {
	sh, acct, err := s.grantParties(shared, account)
	if err != nil {
		return GrantInfo{}, err
	}
	var r store.Rights
	for _, list := range rights {
		for name := range strings.SplitSeq(list, ",") {
			if strings.TrimSpace(name) == "" {
				continue
			}
			one, err := store.ParseRights(name)
			if err != nil {
				return GrantInfo{}, &Error{Kind: ErrInvalid, Msg: err.Error()}
			}
			r |= one
		}
	}
	if r == 0 {
		return GrantInfo{}, failf(ErrInvalid, "no rights given: use --rights read, write or send")
	}
	had, err := s.rightsOf(sh, acct)
	if err != nil {
		return GrantInfo{}, err
	}
	now := had | r
	detail := fmt.Sprintf("account %s: granted %s (now %s)", acct, r, now)
	if err := s.audited("share.grant", sh, detail).SetGrant(sh, acct, r); err != nil {
		return GrantInfo{}, grantErr(err, sh, acct)
	}
	g := GrantInfo{Shared: sh, Account: acct, Rights: now.String()}
	var subErr error
	if r&store.RightRead != 0 {
		if err := s.subscribeShared(acct, sh); err != nil {
			subErr = fmt.Errorf("%s now has %s on %s, but %q could not be added to its subscribed folders (subscribe to it in the mail client): %w",
				acct, now, sh, sharedFolder(sh), err)
		}
	}
	return g, subErr
}

// Revoke takes every right on a shared mailbox away from account.
func (s *Service) Revoke(shared, account string) error {
	sh, acct, err := s.grantParties(shared, account)
	if err != nil {
		return err
	}
	had, err := s.rightsOf(sh, acct)
	if err != nil {
		return err
	}
	if err := s.audited("share.revoke", sh, fmt.Sprintf("account %s: revoked %s", acct, had)).SetGrant(sh, acct, 0); err != nil {
		return grantErr(err, sh, acct)
	}
	subErr := s.unsubscribeShared(acct, sh)
	if subErr != nil {
		subErr = fmt.Errorf("the rights of %s on %s are revoked, but its subscription to %q could not be removed: %w",
			acct, sh, sharedFolder(sh), subErr)
	}
	return subErr
}

// sharedRoot is the top of the IMAP namespace in which granted staff see shared mailboxes: "Shared/<address>" is
// a shared mailbox's INBOX, "Shared/<address>/<folder>" its other folders (internal/imap/namespace.go).
const sharedRoot = "Shared"

// sharedFolder is the name under which grantees see the INBOX of the shared mailbox sh.
func sharedFolder(sh string) string { return sharedRoot + string(store.Delimiter) + sh }

// subscribeShared subscribes acct to the INBOX of the shared mailbox sh, so that clients which show subscribed
// folders only (Thunderbird) show it without the user looking for it.
func (s *Service) subscribeShared(acct, sh string) error {
	a, err := s.st.Account(acct)
	if err != nil {
		return err
	}
	return s.st.SetSubscribed(a.ID, sharedFolder(sh), true)
}

// unsubscribeShared removes acct's subscriptions to the folders of the shared mailbox sh: its INBOX, and any other
// folder of it the user subscribed to in a mail client.
func (s *Service) unsubscribeShared(acct, sh string) error {
	a, err := s.st.Account(acct)
	if err != nil {
		return err
	}
	subs, err := s.st.Subscriptions(a.ID)
	if err != nil {
		return err
	}
	root := sharedFolder(sh)
	for _, name := range subs {
		if name == root || strings.HasPrefix(name, root+string(store.Delimiter)) {
			if err := s.st.SetSubscribed(a.ID, name, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// grantParties cleans and checks the two addresses of a grant: shared must be a shared mailbox, account a
// person's account.
func (s *Service) grantParties(shared, account string) (sh, acct string, err error) {
	if sh, _, err = cleanAddress(shared); err != nil {
		return "", "", err
	}
	if acct, _, err = cleanAddress(account); err != nil {
		return "", "", err
	}
	e, err := s.st.Lookup(sh)
	if err != nil {
		return "", "", err
	}
	if err := isShared(sh, e); err != nil {
		return "", "", err
	}
	if e, err = s.st.Lookup(acct); err != nil {
		return "", "", err
	}
	switch {
	case e.Kind == store.KindNone:
		return "", "", userErr(acct, store.ErrAccountNotFound)
	case e.Kind == store.KindAlias:
		return "", "", failf(ErrInvalid, "%s is an alias of %s: grant rights to the account itself", acct, e.Alias.Target)
	case e.Kind == store.KindGroup:
		return "", "", failf(ErrInvalid, "%s is a group: grant rights to each person's account", acct)
	case e.Account.Shared:
		return "", "", failf(ErrInvalid, "%s is a shared mailbox: grant rights to people's accounts", acct)
	}
	return sh, acct, nil
}

// isShared explains why e, the entry of addr, is not a shared mailbox, or returns nil.
func isShared(addr string, e store.Entry) error {
	const create = "create one with 'mailserver share add ADDRESS'"
	switch {
	case e.Kind == store.KindNone:
		return failf(ErrNotFound, "shared mailbox %s does not exist: add it with 'mailserver share add %s'", addr, addr)
	case e.Kind == store.KindAlias:
		return failf(ErrInvalid, "%s is an alias, not a shared mailbox: %s", addr, create)
	case e.Kind == store.KindGroup:
		return failf(ErrInvalid, "%s is a group, not a shared mailbox: %s", addr, create)
	case !e.Account.Shared:
		return failf(ErrInvalid, "%s is a user, not a shared mailbox: %s", addr, create)
	}
	return nil
}

// grantErr explains the store's refusal to change a grant.
func grantErr(err error, sh, acct string) error {
	switch {
	case errors.Is(err, store.ErrNotShared):
		return failf(ErrInvalid, "%s is not a shared mailbox: create one with 'mailserver share add ADDRESS'", sh)
	case errors.Is(err, store.ErrNotFound):
		return failf(ErrNotFound, "%s has no rights on %s: see 'mailserver share list'", acct, sh)
	case errors.Is(err, store.ErrAccountNotFound):
		return failf(ErrNotFound, "%s or %s no longer exists: see 'mailserver share list'", sh, acct)
	}
	return err
}

// rightsOf returns acct's rights on the shared mailbox sh, 0 for none.
func (s *Service) rightsOf(sh, acct string) (store.Rights, error) {
	grants, err := s.st.Grants(sh)
	if err != nil {
		return 0, err
	}
	for _, g := range grants {
		if g.Account == acct {
			return g.Rights, nil
		}
	}
	return 0, nil
}

// ListShared lists the shared mailboxes in address order, each with its grants.
func (s *Service) ListShared() ([]SharedInfo, error) {
	accounts, err := s.st.Accounts()
	if err != nil {
		return nil, err
	}
	var out []SharedInfo
	for _, a := range accounts {
		if !a.Shared {
			continue
		}
		grants, err := s.st.Grants(a.Address)
		if err != nil {
			return nil, err
		}
		info := SharedInfo{UserInfo: userInfo(a)}
		for _, g := range grants {
			info.Grants = append(info.Grants, GrantInfo{Shared: g.Shared, Account: g.Account, Rights: g.Rights.String()})
		}
		slices.SortFunc(info.Grants, func(x, y GrantInfo) int { return strings.Compare(x.Account, y.Account) })
		out = append(out, info)
	}
	return out, nil
}
