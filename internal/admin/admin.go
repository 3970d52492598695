// Package admin holds the administration operations — domains and users — in one place. The same Service runs
// inside the server (behind the control socket, see internal/ctl) and inside the CLI when the server is not running
// (directly on the store file), so both paths validate and report errors identically.
//
// Every error an operation returns is one line that tells the administrator what to do; errors.Is tells its kind
// (ErrInvalid, ErrNotFound, ErrExists, ErrInUse). Passwords are hashed here, so they travel to the server over the
// 0600 control socket and never appear in a process's arguments.
package admin

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"mailserver/internal/auth"
	"mailserver/internal/store"
)

// API is the set of administration operations. *Service implements it on a store; *ctl.Client implements it over
// the control socket of a running server. The CLI is written against API only.
type API interface {
	AddDomain(name string) error
	ListDomains() ([]Domain, error)
	RemoveDomain(name string) error
	AddUser(req AddUserRequest) (UserInfo, error)
	ListUsers() ([]UserInfo, error)
	SetPassword(address, password string) error
	Disable(address string) error
	Enable(address string) error
	RemoveUser(address string) error
	Check() (CheckReport, error)
}

var _ API = (*Service)(nil)

// Domain is a mail domain as the administration layer shows it.
type Domain struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// AddUserRequest describes a new account. Quota is in bytes, 0 for unlimited; Password is the plain text, hashed
// by AddUser.
type AddUserRequest struct {
	Address  string `json:"address"`
	Name     string `json:"name,omitempty"`
	Unit     string `json:"unit,omitempty"`
	Quota    int64  `json:"quota,omitempty"`
	Password string `json:"password"`
}

// UserInfo is an account as the administration layer shows it: everything but the password hash.
type UserInfo struct {
	Address  string    `json:"address"`
	Name     string    `json:"name,omitempty"`
	Unit     string    `json:"unit,omitempty"`
	Quota    int64     `json:"quota"` // bytes; 0 means unlimited
	Used     int64     `json:"used"`  // bytes
	Disabled bool      `json:"disabled,omitempty"`
	Created  time.Time `json:"created"`
}

func userInfo(a store.Account) UserInfo {
	return UserInfo{Address: a.Address, Name: a.Name, Unit: a.Unit, Quota: a.Quota, Used: a.Used,
		Disabled: a.Disabled, Created: a.Created}
}

// maxConcurrentHashes bounds the password hashes computed at once: each holds the hasher's memory (64 MiB by
// default) while it runs.
const maxConcurrentHashes = 2

// Service runs administration operations on a store. It is safe for concurrent use.
type Service struct {
	st        *store.Store  // immutable
	hasher    auth.Hasher   // immutable
	hashSlots chan struct{} // a token per hash in progress
}

// Option changes a Service built by New.
type Option func(*Service)

// WithHasher sets the password hashing parameters (default auth.DefaultHasher()). Tests use cheap ones.
func WithHasher(h auth.Hasher) Option { return func(s *Service) { s.hasher = h } }

// New returns a Service working on st.
func New(st *store.Store, opts ...Option) *Service {
	s := &Service{st: st, hasher: auth.DefaultHasher(), hashSlots: make(chan struct{}, maxConcurrentHashes)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// AddDomain adds a mail domain.
func (s *Service) AddDomain(name string) error {
	d, err := cleanDomain(name)
	if err != nil {
		return err
	}
	err = s.st.AddDomain(d)
	if errors.Is(err, store.ErrExists) {
		return failf(ErrExists, "domain %s already exists", d)
	}
	return err
}

// ListDomains lists the domains in name order.
func (s *Service) ListDomains() ([]Domain, error) {
	ds, err := s.st.Domains()
	if err != nil {
		return nil, err
	}
	out := make([]Domain, len(ds))
	for i, d := range ds {
		out[i] = Domain{Name: d.Name, Created: d.Created}
	}
	return out, nil
}

// RemoveDomain removes a domain that has no users left.
func (s *Service) RemoveDomain(name string) error {
	d, err := cleanDomain(name)
	if err != nil {
		return err
	}
	err = s.st.RemoveDomain(d)
	switch {
	case errors.Is(err, store.ErrDomainNotFound):
		return failf(ErrNotFound, "domain %s does not exist: see 'mailserver domain list'", d)
	case errors.Is(err, store.ErrDomainInUse):
		return s.domainInUse(d)
	}
	return err
}

// domainInUse explains which users keep domain d from being removed.
func (s *Service) domainInUse(d string) error {
	accounts, err := s.st.Accounts()
	if err != nil {
		return failf(ErrInUse, "domain %s still has users: remove them first with 'mailserver user remove ADDRESS'", d)
	}
	var users []string
	for _, a := range accounts {
		if strings.HasSuffix(a.Address, "@"+d) {
			users = append(users, a.Address)
		}
	}
	list := strings.Join(users, ", ")
	if len(users) > 3 {
		list = strings.Join(users[:3], ", ") + fmt.Sprintf(" and %d more", len(users)-3)
	}
	return failf(ErrInUse, "domain %s still has %d user(s) (%s): remove them first with 'mailserver user remove ADDRESS'",
		d, len(users), list)
}

// AddUser creates an account with its default mailboxes.
func (s *Service) AddUser(req AddUserRequest) (UserInfo, error) {
	addr, domain, err := cleanAddress(req.Address)
	if err != nil {
		return UserInfo{}, err
	}
	name, err := cleanName(req.Name)
	if err != nil {
		return UserInfo{}, err
	}
	unit, err := cleanUnit(req.Unit)
	if err != nil {
		return UserInfo{}, err
	}
	if req.Quota < 0 {
		return UserInfo{}, failf(ErrInvalid, "quota must not be negative (0 means unlimited)")
	}
	if err := checkPassword(req.Password); err != nil {
		return UserInfo{}, err
	}
	// Cheap checks first, so that a mistake does not cost a password hash; the store checks again atomically.
	if err := s.checkNewAddress(addr, domain); err != nil {
		return UserInfo{}, err
	}
	hash, err := s.hash(req.Password)
	if err != nil {
		return UserInfo{}, err
	}
	a, err := s.st.AddAccount(store.Account{Address: addr, Name: name, Unit: unit, PasswordHash: hash, Quota: req.Quota})
	switch {
	case errors.Is(err, store.ErrDomainNotFound):
		return UserInfo{}, noDomain(domain)
	case errors.Is(err, store.ErrExists):
		return UserInfo{}, failf(ErrExists, "user %s already exists", addr)
	case err != nil:
		return UserInfo{}, err
	}
	return userInfo(a), nil
}

func (s *Service) checkNewAddress(addr, domain string) error {
	ok, err := s.st.HasDomain(domain)
	if err != nil {
		return err
	}
	if !ok {
		return noDomain(domain)
	}
	_, err = s.st.Account(addr)
	switch {
	case err == nil:
		return failf(ErrExists, "user %s already exists", addr)
	case errors.Is(err, store.ErrAccountNotFound):
		return nil
	}
	return err
}

// hash hashes a password, waiting while maxConcurrentHashes others are computed.
func (s *Service) hash(password string) (string, error) {
	s.hashSlots <- struct{}{}
	defer func() { <-s.hashSlots }()
	h, err := s.hasher.Hash(password)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

func noDomain(d string) error {
	return failf(ErrNotFound, "domain %s does not exist: add it with 'mailserver domain add %s'", d, d)
}

// ListUsers lists every account in address order.
func (s *Service) ListUsers() ([]UserInfo, error) {
	accounts, err := s.st.Accounts()
	if err != nil {
		return nil, err
	}
	out := make([]UserInfo, len(accounts))
	for i, a := range accounts {
		out[i] = userInfo(a)
	}
	return out, nil
}

// SetPassword replaces a user's password.
func (s *Service) SetPassword(address, password string) error {
	addr, _, err := cleanAddress(address)
	if err != nil {
		return err
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	if _, err := s.account(addr); err != nil {
		return err // before hashing, so that a typo costs nothing
	}
	hash, err := s.hash(password)
	if err != nil {
		return err
	}
	return s.update(addr, func(a *store.Account) { a.PasswordHash = hash })
}

// Disable stops a user from logging in; mail keeps arriving and the mailbox is kept. Disabling a disabled user is
// not an error.
func (s *Service) Disable(address string) error {
	addr, _, err := cleanAddress(address)
	if err != nil {
		return err
	}
	return s.update(addr, func(a *store.Account) { a.Disabled = true })
}

// Enable undoes Disable. Enabling an enabled user is not an error.
func (s *Service) Enable(address string) error {
	addr, _, err := cleanAddress(address)
	if err != nil {
		return err
	}
	return s.update(addr, func(a *store.Account) { a.Disabled = false })
}

// RemoveUser deletes a user with all their mail.
func (s *Service) RemoveUser(address string) error {
	addr, _, err := cleanAddress(address)
	if err != nil {
		return err
	}
	return userErr(addr, s.st.RemoveAccount(addr))
}

// CheckReport is the outcome of an integrity check: no problems means the store is consistent.
type CheckReport struct {
	Problems []string `json:"problems,omitempty"`
}

// Check verifies the store's invariants (counters, UIDs, reference counts, orphans) and lists every violation.
func (s *Service) Check() (CheckReport, error) {
	err := s.st.Check()
	if err == nil {
		return CheckReport{}, nil
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return CheckReport{}, fmt.Errorf("integrity check could not run: %w", err)
	}
	var r CheckReport
	for _, e := range joined.Unwrap() {
		r.Problems = append(r.Problems, e.Error())
	}
	return r, nil
}

func (s *Service) account(addr string) (store.Account, error) {
	a, err := s.st.Account(addr)
	return a, userErr(addr, err)
}

func (s *Service) update(addr string, fn func(*store.Account)) error {
	_, err := s.st.UpdateAccount(addr, func(a *store.Account) error {
		fn(a)
		return nil
	})
	return userErr(addr, err)
}

// userErr turns the store's "no such account" into an administrator's message; other errors pass unchanged.
func userErr(addr string, err error) error {
	if errors.Is(err, store.ErrAccountNotFound) {
		return failf(ErrNotFound, "user %s does not exist: see 'mailserver user list'", addr)
	}
	return err
}
