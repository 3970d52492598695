package admin

import (
	"errors"
	"fmt"
	"time"

	"mailserver/internal/forwarding"
	"mailserver/internal/sieve"
	"mailserver/internal/store"
)

// SieveScriptInfo is one of a user's filter scripts as the administration layer shows it.
type SieveScriptInfo struct {
	Name    string    `json:"name"`
	Active  bool      `json:"active,omitempty"`
	Size    int       `json:"size"`
	Updated time.Time `json:"updated"`
}

// SieveSettings are the limits and the forwarding policy that every stored script is held to (the [sieve]
// table); the zero value keeps the store's default limits and forwards only within the organisation's domains.
type SieveSettings struct {
	Limits  store.SieveLimits
	Forward forwarding.Policy // IsLocalDomain is filled from the store when nil
}

// WithSieve sets the limits and forwarding policy of filter scripts.
func WithSieve(settings SieveSettings) Option { return func(s *Service) { s.sieve = settings } }

// SieveScripts lists the filter scripts of a user or shared mailbox.
func (s *Service) SieveScripts(address string) ([]SieveScriptInfo, error) {
	a, err := s.sieveAccount(address)
	if err != nil {
		return nil, err
	}
	scripts, err := s.st.SieveScripts(a.ID)
	if err != nil {
		return nil, err
	}
	out := make([]SieveScriptInfo, 0, len(scripts))
	for _, sc := range scripts {
		out = append(out, SieveScriptInfo{Name: sc.Name, Active: sc.Active, Size: sc.Size, Updated: sc.Updated})
	}
	return out, nil
}

// SieveScript returns the text of one of a user's filter scripts.
func (s *Service) SieveScript(address, name string) (string, error) {
	a, err := s.sieveAccount(address)
	if err != nil {
		return "", err
	}
	src, err := s.st.SieveScript(a.ID, name)
	return string(src), sieveErr(a.Address, name, err)
}

// PutSieveScript stores a filter script for a user, replacing one of the same name; with activate it becomes the
// user's active script. A script that does not compile, or that forwards where the policy does not allow, is
// refused with the compiler's message (line and column).
func (s *Service) PutSieveScript(address, name, src string, activate bool) error {
	a, err := s.sieveAccount(address)
	if err != nil {
		return err
	}
	if err := store.CheckSieveName(name); err != nil {
		return failf(ErrInvalid, "script name %q: %v", name, err)
	}
	if _, err := s.CompileSieve(a, []byte(src)); err != nil {
		return failf(ErrInvalid, "script %q for %s: %v", name, a.Address, err)
	}
	detail := fmt.Sprintf("script %q, %d bytes", name, len(src))
	if err := s.audited("sieve.put", a.Address, detail).PutSieveScript(a.ID, name, []byte(src), s.sieve.Limits); err != nil {
		return sieveErr(a.Address, name, err)
	}
	if !activate {
		return nil
	}
	return s.ActivateSieveScript(a.Address, name)
}

// ActivateSieveScript makes one of a user's scripts the one that runs on delivery; "" turns filtering off.
func (s *Service) ActivateSieveScript(address, name string) error {
	a, err := s.sieveAccount(address)
	if err != nil {
		return err
	}
	action, detail := "sieve.activate", fmt.Sprintf("script %q", name)
	if name == "" {
		action, detail = "sieve.deactivate", "no script runs"
	}
	return sieveErr(a.Address, name, s.audited(action, a.Address, detail).ActivateSieveScript(a.ID, name))
}

// RemoveSieveScript deletes one of a user's scripts; the active one must be deactivated first.
func (s *Service) RemoveSieveScript(address, name string) error {
	a, err := s.sieveAccount(address)
	if err != nil {
		return err
	}
	err = s.audited("sieve.remove", a.Address, fmt.Sprintf("script %q", name)).DeleteSieveScript(a.ID, name)
	return sieveErr(a.Address, name, err)
}

// CompileSieve compiles a script of account a as every part of the server does (the CLI, ManageSieve and
// delivery): under the configured limits and the forwarding policy of the account's unit.
func (s *Service) CompileSieve(a store.Account, src []byte) (*sieve.Script, error) {
	policy := s.sieve.Forward
	if policy.IsLocalDomain == nil {
		policy.IsLocalDomain = s.st.HasDomain
	}
	return sieve.Compile(src, sieve.Options{
		Limits:   sieve.Limits{MaxScriptBytes: s.sieve.Limits.MaxScriptBytes},
		Redirect: policy.For(a.Unit),
	})
}

func (s *Service) sieveAccount(address string) (store.Account, error) {
	addr, _, err := cleanAddress(address)
	if err != nil {
		return store.Account{}, err
	}
	return s.account(addr)
}

// sieveErr turns the store's script errors into administrators' messages.
func sieveErr(addr, name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return failf(ErrNotFound, "%s has no filter script %q; `mailserver sieve list %s` shows them", addr, name, addr)
	case errors.Is(err, store.ErrSieveActive):
		return failf(ErrInUse, "script %q is the active one of %s: activate another or turn filtering off "+
			"(`mailserver sieve activate %s --none`) first", name, addr, addr)
	case errors.Is(err, store.ErrSieveQuota), errors.Is(err, store.ErrSieveName):
		return failf(ErrInvalid, "%v", err)
	}
	return err
}
