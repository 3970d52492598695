package admin

import (
	"errors"
	"time"

	"mailserver/internal/store"
)

// AliasInfo is an alias as the administration layer shows it: mail to Address reaches Target, and Target may send
// as Address.
type AliasInfo struct {
	Address string    `json:"address"`
	Target  string    `json:"target"`
	Created time.Time `json:"created"`
}

// AddAlias makes alias another address of target: a user, group, shared mailbox or alias of this server.
func (s *Service) AddAlias(alias, target string) (AliasInfo, error) {
	addr, domain, err := cleanNewAddress(alias)
	if err != nil {
		return AliasInfo{}, err
	}
	t, tdomain, err := cleanAddress(target)
	if err != nil {
		return AliasInfo{}, err
	}
	if t == addr {
		return AliasInfo{}, failf(ErrInvalid, "alias %s cannot point at itself", addr)
	}
	if err := s.checkFree(addr, domain, "alias"); err != nil {
		return AliasInfo{}, err
	}
	if err := s.checkTarget(t, tdomain); err != nil {
		return AliasInfo{}, err
	}
	a, err := s.audited("alias.add", addr, "target "+t).AddAlias(addr, t)
	switch {
	case errors.Is(err, store.ErrDomainNotFound):
		return AliasInfo{}, noDomain(domain)
	case errors.Is(err, store.ErrExists):
		if err := s.checkFree(addr, domain, "alias"); err != nil {
			return AliasInfo{}, err
		}
		return AliasInfo{}, failf(ErrExists, "alias %s already exists", addr)
	case errors.Is(err, store.ErrNotFound):
		return AliasInfo{}, noTarget(t)
	case err != nil:
		return AliasInfo{}, err
	}
	return AliasInfo{Address: a.Address, Target: a.Target, Created: a.Created}, nil
}

// checkTarget requires t, in domain, to be an address of this server that names something.
func (s *Service) checkTarget(t, domain string) error {
	ok, err := s.st.HasDomain(domain)
	if err != nil {
		return err
	}
	if !ok {
		return failf(ErrInvalid, "target %s is not an address of this server: an alias points at a user, group, shared mailbox or alias here", t)
	}
	e, err := s.st.Lookup(t)
	if err != nil {
		return err
	}
	if e.Kind == store.KindNone {
		return noTarget(t)
	}
	return nil
}

func noTarget(t string) error {
	return failf(ErrNotFound, "target %s does not exist: add the user, group or shared mailbox first (see 'mailserver user list')", t)
}

// ListAliases lists every alias in address order.
func (s *Service) ListAliases() ([]AliasInfo, error) {
	aliases, err := s.st.Aliases()
	if err != nil {
		return nil, err
	}
	out := make([]AliasInfo, len(aliases))
	for i, a := range aliases {
		out[i] = AliasInfo{Address: a.Address, Target: a.Target, Created: a.Created}
	}
	return out, nil
}

// RemoveAlias removes an alias that no other alias points at and no group has as a member.
func (s *Service) RemoveAlias(alias string) error {
	addr, _, err := cleanAddress(alias)
	if err != nil {
		return err
	}
	e, err := s.st.Lookup(addr)
	if err != nil {
		return err
	}
	if e.Kind != store.KindAlias {
		return noAlias(addr)
	}
	if err := s.checkUnreferenced("alias", addr); err != nil {
		return err
	}
	err = s.audited("alias.remove", addr, "target was "+e.Alias.Target).RemoveAlias(addr)
	if errors.Is(err, store.ErrAliasNotFound) {
		return noAlias(addr)
	}
	return err
}

func noAlias(addr string) error {
	return failf(ErrNotFound, "alias %s does not exist: see 'mailserver alias list'", addr)
}
