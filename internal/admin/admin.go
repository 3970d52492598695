// Package admin holds the administration operations — domains, users, org units, aliases, groups, shared
// mailboxes, quotas, the outbound queue and the audit trail — in one place. The same Service runs inside the
// server (behind the control socket, see internal/ctl) and inside the CLI when the server is not running (directly
// on the store file), so both paths validate and report errors identically.
//
// Every error an operation returns is one line that tells the administrator what to do; errors.Is tells its kind
// (ErrInvalid, ErrNotFound, ErrExists, ErrInUse). Passwords are hashed here, so they travel to the server over the
// control socket (mode 0660, in a folder only the service's user and group reach) and never appear in a process's arguments.
//
// Every change is written to the store's audit trail in the change's own transaction (store.WithAudit), so the
// trail holds exactly the changes made: the actor is "admin:" and the OS user the CLI passes (As), the origin
// "cli". Removals are refused while an alias
// or a group still refers to what would go, so that nothing is left pointing at nothing.
package admin

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"mailserver/internal/auth"
	"mailserver/internal/mailauth"
	"mailserver/internal/store"
)

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

// UserInfo is an account as the administration layer shows it: everything but the password hash. Shared
// mailboxes are accounts too (Shared).
type UserInfo struct {
	Address    string    `json:"address"`
	Name       string    `json:"name,omitempty"`
	Unit       string    `json:"unit,omitempty"`
	Quota      int64     `json:"quota"` // bytes; 0 means unlimited
	Used       int64     `json:"used"`  // bytes
	Disabled   bool      `json:"disabled,omitempty"`
	RejectMail bool      `json:"reject_mail,omitempty"` // disabled and refusing new mail
	Shared     bool      `json:"shared,omitempty"`      // a shared mailbox: nobody logs in as it
	Created    time.Time `json:"created"`
}

func userInfo(a store.Account) UserInfo {
	return UserInfo{Address: a.Address, Name: a.Name, Unit: a.Unit, Quota: a.Quota, Used: a.Used,
		Disabled: a.Disabled, RejectMail: a.RejectMail, Shared: a.Shared, Created: a.Created}
}

// The audit records' Actor and From for administration operations.
const (
	actorAdmin = "admin"
	auditFrom  = "cli"
)

// maxConcurrentHashes bounds the password hashes computed at once: each holds the hasher's memory (19 MiB by
// default) while it runs.
const maxConcurrentHashes = 2

// Service runs administration operations on a store. It is safe for concurrent use.
type Service struct {
	st        *store.Store  // immutable
	hasher    auth.Hasher   // immutable
	hashSlots chan struct{} // a token per hash in progress; shared by the copies As makes
	actor     string        // immutable: the audit records' Actor
	// keygen makes DKIM keys (mailauth.GenerateKey); now dates their selectors.
	keygen func(algorithm, selector string) (mailauth.Key, error)
	now    func() time.Time
	// inProgress says whether the running server's queue worker is attempting a queued message (nil: none runs).
	inProgress func(id string) bool
	// serverInfo describes the running server for Status (nil: no server runs this Service).
	serverInfo func() ServerInfo
	// credentialsChanged is told the address of a user whose password changed or who was disabled or removed
	// (nil: no server runs this Service).
	credentialsChanged func(address string)
	sieve              SieveSettings // limits and forwarding policy of users' filter scripts
}

// Option changes a Service built by New.
type Option func(*Service)

// WithHasher sets the password hashing parameters (default auth.DefaultHasher()). Tests use cheap ones.
func WithHasher(h auth.Hasher) Option { return func(s *Service) { s.hasher = h } }

// WithKeygen sets how DKIM keys are made (default mailauth.GenerateKey). Tests reuse keys: an RSA key takes a
// while to make.
func WithKeygen(fn func(algorithm, selector string) (mailauth.Key, error)) Option {
	return func(s *Service) { s.keygen = fn }
}

// WithAttemptsInProgress lets queue entries say whether an attempt at them is under way, asking the running
// server's queue worker (queue.Worker.InProgress): removing or bouncing such a message may not stop that attempt.
func WithAttemptsInProgress(inProgress func(id string) bool) Option {
	return func(s *Service) { s.inProgress = inProgress }
}

// WithCredentialsChanged tells forget the address of each user whose password is changed or who is disabled or
// removed, after the change is stored: the running server drops what it remembers of their verified password
// (auth.Authenticator.Forget).
func WithCredentialsChanged(forget func(address string)) Option {
	return func(s *Service) { s.credentialsChanged = forget }
}

// New returns a Service working on st.
func New(st *store.Store, opts ...Option) *Service {
	s := &Service{st: st, hasher: auth.DefaultHasher(), hashSlots: make(chan struct{}, maxConcurrentHashes),
		actor: actorAdmin, keygen: mailauth.GenerateKey, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// As returns the same Service acting for osUser, the operating-system user running the CLI, who is named in the
// audit records of the changes made through it ("admin:" + osUser; "admin" when empty). The copy shares the
// store and the hashing slots.
func (s *Service) As(osUser string) *Service {
	c := *s
	c.actor = actorAdmin
	if u := cleanActor(osUser); u != "" {
		c.actor = actorAdmin + ":" + u
	}
	return &c
}

// AddDomain adds a mail domain with an RSA DKIM signing key, in one transaction.
func (s *Service) AddDomain(name string) error {
	d, err := cleanDomain(name)
	if err != nil {
		return err
	}
	key, err := s.newDKIMKey(d, "rsa", nil)
	if err != nil {
		return err
	}
	err = s.audited("domain.add", d, "").AddDomain(d, key)
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

// RemoveDomain removes a domain that has no users, shared mailboxes, aliases or groups left.
func (s *Service) RemoveDomain(name string) error {
	d, err := cleanDomain(name)
	if err != nil {
		return err
	}
	ok, err := s.st.HasDomain(d)
	if err != nil {
		return err
	}
	if !ok {
		return failf(ErrNotFound, "domain %s does not exist: see 'mailserver domain list'", d)
	}
	// The store refuses a domain with accounts; aliases and groups are checked here so that none is left behind.
	if err := s.domainInUse(d); err != nil {
		return err
	}
	err = s.audited("domain.remove", d, "").RemoveDomain(d)
	switch {
	case errors.Is(err, store.ErrDomainNotFound):
		return failf(ErrNotFound, "domain %s does not exist: see 'mailserver domain list'", d)
	case errors.Is(err, store.ErrDomainInUse):
		return s.domainInUse(d) // an account was added meanwhile
	}
	return err
}

// domainInUse explains which users, aliases or groups keep domain d from being removed, or returns nil.
func (s *Service) domainInUse(d string) error {
	inDomain := func(addr string) bool { return strings.HasSuffix(addr, "@"+d) }
	accounts, err := s.st.Accounts()
	if err != nil {
		return err
	}
	var users []string
	for _, a := range accounts {
		if inDomain(a.Address) {
			users = append(users, a.Address)
		}
	}
	if len(users) > 0 {
		return failf(ErrInUse, "domain %s still has %d user(s) (%s): remove them first with 'mailserver user remove ADDRESS'",
			d, len(users), shortList(users))
	}
	aliases, err := s.st.Aliases()
	if err != nil {
		return err
	}
	var names []string
	for _, a := range aliases {
		if inDomain(a.Address) {
			names = append(names, a.Address)
		}
	}
	if len(names) > 0 {
		return failf(ErrInUse, "domain %s still has %d alias(es) (%s): remove them first with 'mailserver alias remove ALIAS'",
			d, len(names), shortList(names))
	}
	groups, err := s.st.Groups()
	if err != nil {
		return err
	}
	for _, g := range groups {
		if inDomain(g.Address) {
			names = append(names, g.Address)
		}
	}
	if len(names) > 0 {
		return failf(ErrInUse, "domain %s still has %d group(s) (%s): remove them first with 'mailserver group remove GROUP'",
			d, len(names), shortList(names))
	}
	return nil
}

// shortList names the first three items and counts the rest.
func shortList(items []string) string {
	if len(items) > 3 {
		return strings.Join(items[:3], ", ") + fmt.Sprintf(" and %d more", len(items)-3)
	}
	return strings.Join(items, ", ")
}

// AddUser creates an account with its default mailboxes.
func (s *Service) AddUser(req AddUserRequest) (UserInfo, error) {
	f, err := s.newAccountFields(req.Address, req.Name, req.Unit, req.Quota, "user")
	if err != nil {
		return UserInfo{}, err
	}
	if err := checkPassword(req.Password); err != nil {
		return UserInfo{}, err
	}
	hash, err := s.hash(req.Password)
	if err != nil {
		return UserInfo{}, err
	}
	a := store.Account{Address: f.addr, Name: f.name, Unit: f.unit, PasswordHash: hash, Quota: req.Quota}
	a, err = s.audited("user.add", f.addr, accountDetail(a)).AddAccount(a)
	if err != nil {
		return UserInfo{}, s.addAccountErr(err, f.addr, f.domain, f.unit, "user")
	}
	return userInfo(a), nil
}

// accountFields are the cleaned fields of a new account or shared mailbox.
type accountFields struct{ addr, domain, name, unit string }

// newAccountFields cleans and checks the fields of a new account of the given kind ("user", "shared mailbox"):
// the cheap checks, done before a password is hashed; the store checks again atomically.
func (s *Service) newAccountFields(address, name, unit string, quota int64, kind string) (accountFields, error) {
	var f accountFields
	var err error
	if f.addr, f.domain, err = cleanNewAddress(address); err != nil {
		return f, err
	}
	if f.name, err = cleanName(name); err != nil {
		return f, err
	}
	if f.unit, err = cleanUnit(unit); err != nil {
		return f, err
	}
	if quota < 0 {
		return f, failf(ErrInvalid, "quota must not be negative (0 means unlimited)")
	}
	return f, s.checkNewAccount(f.addr, f.domain, f.unit, kind)
}

// checkNewAccount checks that addr is free in a served domain and that unit ("" for none) exists. kind names the
// account in messages: "user" or "shared mailbox".
func (s *Service) checkNewAccount(addr, domain, unit, kind string) error {
	if err := s.checkFree(addr, domain, kind); err != nil {
		return err
	}
	return s.checkUnit(unit)
}

// checkFree checks that addr, in domain, is an address nothing uses yet. kind is what is being added ("user",
// "alias", "group" or "shared mailbox"): an address already of that kind "already exists".
func (s *Service) checkFree(addr, domain, kind string) error {
	ok, err := s.st.HasDomain(domain)
	if err != nil {
		return err
	}
	if !ok {
		return noDomain(domain)
	}
	e, err := s.st.Lookup(addr)
	if err != nil {
		return err
	}
	return taken(addr, e, kind)
}

// taken explains that addr is already used by e, or returns nil if e is nothing.
func taken(addr string, e store.Entry, kind string) error {
	var what, see string
	switch {
	case e.Kind == store.KindNone:
		return nil
	case e.Kind == store.KindAccount && e.Account.Shared:
		what, see = "shared mailbox", "mailserver share list"
	case e.Kind == store.KindAccount:
		what, see = "user", "mailserver user list"
	case e.Kind == store.KindAlias:
		what, see = "alias", "mailserver alias list"
	default:
		what, see = "group", "mailserver group list"
	}
	if what == kind {
		return failf(ErrExists, "%s %s already exists", kind, addr)
	}
	article := "a"
	if what == "alias" {
		article = "an"
	}
	return failf(ErrExists, "address %s is already used by %s %s: choose another address (see '%s')", addr, article, what, see)
}

// checkUnit requires unit to exist; "" (no unit) always does.
func (s *Service) checkUnit(unit string) error {
	if unit == "" {
		return nil
	}
	_, err := s.st.Unit(unit)
	if errors.Is(err, store.ErrUnitNotFound) {
		return noUnit(unit)
	}
	return err
}

// addAccountErr explains the store's refusal to add an account.
func (s *Service) addAccountErr(err error, addr, domain, unit, kind string) error {
	switch {
	case errors.Is(err, store.ErrDomainNotFound):
		return noDomain(domain)
	case errors.Is(err, store.ErrUnitNotFound):
		return noUnit(unit)
	case errors.Is(err, store.ErrExists):
		if err := s.checkFree(addr, domain, kind); err != nil {
			return err
		}
		return failf(ErrExists, "%s %s already exists", kind, addr)
	}
	return err
}

// accountDetail describes a new account for the audit trail.
func accountDetail(a store.Account) string {
	var parts []string
	if a.Name != "" {
		parts = append(parts, fmt.Sprintf("name %q", a.Name))
	}
	if a.Unit != "" {
		parts = append(parts, "unit "+a.Unit)
	}
	if a.Quota > 0 {
		parts = append(parts, "quota "+FormatSize(a.Quota))
	}
	return strings.Join(parts, ", ")
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

func noUnit(u string) error {
	return failf(ErrNotFound, "unit %s does not exist: add it with 'mailserver unit add %s'", u, u)
}

// ListUsers lists every account, shared mailboxes included, in address order.
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

// SetPassword replaces a user's password. A shared mailbox has none: nobody logs in as it.
func (s *Service) SetPassword(address, password string) error {
	return s.setPassword(address, password, s.actor, auditFrom)
}

// ChangeOwnPassword is SetPassword for users changing their own password (the webmail's settings): the same checks,
// hash and store path, audited with the user as the actor and origin as where the change came from. The caller
// has checked the current password.
func (s *Service) ChangeOwnPassword(address, password, origin string) error {
	addr, _, err := cleanAddress(address)
	if err != nil {
		return err
	}
	return s.setPassword(addr, password, addr, origin)
}

func (s *Service) setPassword(address, password, actor, origin string) error {
	addr, _, err := cleanAddress(address)
	if err != nil {
		return err
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	a, err := s.account(addr)
	if err != nil {
		return err // before hashing, so that a typo costs nothing
	}
	if a.Shared {
		return failf(ErrInvalid, "%s is a shared mailbox: nobody logs in as it; give staff access with 'mailserver share grant %s ACCOUNT --rights read'",
			addr, addr)
	}
	hash, err := s.hash(password)
	if err != nil {
		return err
	}
	audited := s.st.WithAudit(store.AuditRecord{Actor: actor, Action: "user.passwd", Target: addr,
		Detail: "password changed", From: origin})
	return s.credentialsUpdated(addr, s.update(audited, addr,
		func(a *store.Account) { a.PasswordHash = hash }))
}

// credentialsUpdated tells the running server that addr's password or right to log in changed, unless err says the
// change was not made; it returns err.
func (s *Service) credentialsUpdated(addr string, err error) error {
	if err == nil && s.credentialsChanged != nil {
		s.credentialsChanged(addr)
	}
	return err
}

// Disable stops a user from logging in; mail keeps arriving and the mailbox is kept. Disabling a disabled user is
// not an error; a user disabled with DisableRejectingMail receives mail again.
func (s *Service) Disable(address string) error { return s.disable(address, false) }

// DisableRejectingMail is Disable that also refuses new mail to the user (staff who have left).
func (s *Service) DisableRejectingMail(address string) error { return s.disable(address, true) }

func (s *Service) disable(address string, rejectMail bool) error {
	addr, _, err := cleanAddress(address)
	if err != nil {
		return err
	}
	detail := "logins refused; mail keeps arriving"
	if rejectMail {
		detail = "logins refused; new mail rejected"
	}
	return s.credentialsUpdated(addr, s.update(s.audited("user.disable", addr, detail), addr,
		func(a *store.Account) { a.Disabled, a.RejectMail = true, rejectMail }))
}

// Enable undoes Disable and DisableRejectingMail. Enabling an enabled user is not an error.
func (s *Service) Enable(address string) error {
	addr, _, err := cleanAddress(address)
	if err != nil {
		return err
	}
	return s.update(s.audited("user.enable", addr, ""), addr,
		func(a *store.Account) { a.Disabled, a.RejectMail = false, false })
}

// RemoveUser deletes a user (or a shared mailbox) with all their mail. It is refused while an alias points at the
// address or a group has it as a member, which would be left pointing at nothing.
func (s *Service) RemoveUser(address string) error {
	addr, _, err := cleanAddress(address)
	if err != nil {
		return err
	}
	a, err := s.account(addr)
	if err != nil {
		return err
	}
	kind := "user"
	if a.Shared {
		kind = "shared mailbox"
	}
	if err := s.checkUnreferenced(kind, addr); err != nil {
		return err
	}
	var grants []store.Grant
	if a.Shared {
		if grants, err = s.st.Grants(addr); err != nil {
			return err
		}
	}
	detail := fmt.Sprintf("%s removed with its mail (%s)", kind, FormatSize(a.Used))
	if err := s.credentialsUpdated(addr, userErr(addr, s.audited("user.remove", addr, detail).RemoveAccount(addr))); err != nil {
		return err
	}
	// The grants went with the shared mailbox; the grantees' subscriptions to it would be left naming nothing.
	// Clearing them is tidying up: the removal is done whether or not it succeeds.
	for _, g := range grants {
		s.unsubscribeShared(g.Account, addr)
	}
	return nil
}

// MoveUser puts a user (or a shared mailbox) in another org unit; "" takes it out of any unit.
func (s *Service) MoveUser(address, unit string) error {
	addr, _, err := cleanAddress(address)
	if err != nil {
		return err
	}
	unit, err = cleanUnit(unit)
	if err != nil {
		return err
	}
	a, err := s.account(addr)
	if err != nil {
		return err
	}
	if err := s.checkUnit(unit); err != nil {
		return err
	}
	err = s.audited("user.move", addr, fmt.Sprintf("unit %s (was %s)", orNone(unit), orNone(a.Unit))).MoveAccount(addr, unit)
	switch {
	case errors.Is(err, store.ErrUnitNotFound):
		return noUnit(unit)
	case err != nil:
		return userErr(addr, err)
	}
	return nil
}

func orNone(unit string) string {
	if unit == "" {
		return "none"
	}
	return unit
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

// audit records a change that has just succeeded. The change stays made if the record cannot be written; the
// error then says so.
// audited is the store writing the audit record of an administrator's change in the same transaction as the
// change: the trail holds exactly the changes that were made.
func (s *Service) audited(action, target, detail string) *store.Store {
	return s.st.WithAudit(store.AuditRecord{Actor: s.actor, Action: action, Target: target, Detail: detail, From: auditFrom})
}

func (s *Service) update(st *store.Store, addr string, fn func(*store.Account)) error {
	_, err := st.UpdateAccount(addr, func(a *store.Account) error {
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

// ReindexReport is what a rebuild of the search index did, and the index's size afterwards.
type ReindexReport struct {
	IndexBytes      int64 `json:"index_bytes"`
	IndexedMessages int64 `json:"indexed_messages"`
}

// Reindex rebuilds the search index of one account's mailboxes, or of every mailbox when address is "".
func (s *Service) Reindex(address string) (ReindexReport, error) {
	var id uint64
	if address != "" {
		a, err := s.account(address)
		if err != nil {
			return ReindexReport{}, err
		}
		id = a.ID
	}
	if err := s.st.Reindex(id); err != nil {
		return ReindexReport{}, err
	}
	size, err := s.st.SearchIndexSize()
	return ReindexReport{IndexBytes: size.Bytes, IndexedMessages: size.Messages}, err
}
