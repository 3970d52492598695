package provision

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"

	"mailserver/internal/address"
	"mailserver/internal/config"
	"mailserver/internal/store"
)

// Directory is the snapshot of the existing directory that Plan checks a file against. ReadDirectory takes it
// from a store; a client of a running server fills it from that server's listings. Plan reads nothing else, so
// planning costs the same few reads however long the file is.
type Directory struct {
	Accounts []store.Account // every account and shared mailbox; only Address, Name, Unit, Quota and Shared are read
	Units    []string        // every unit path
	Aliases  []string        // alias addresses: taken, like Groups
	Groups   []string        // group addresses
	// Domains lists the served domains; addresses in others are errors. Nil leaves domains unchecked (AddUser
	// checks them when the plan is applied).
	Domains []string
}

// ReadDirectory reads the snapshot Plan needs from st: five reads, whatever the number of accounts.
func ReadDirectory(st *store.Store) (Directory, error) {
	var d Directory
	var err error
	if d.Accounts, err = st.Accounts(); err != nil {
		return Directory{}, fmt.Errorf("read accounts: %w", err)
	}
	units, err := st.Units()
	if err != nil {
		return Directory{}, fmt.Errorf("read units: %w", err)
	}
	for _, u := range units {
		d.Units = append(d.Units, u.Path)
	}
	aliases, err := st.Aliases()
	if err != nil {
		return Directory{}, fmt.Errorf("read aliases: %w", err)
	}
	for _, a := range aliases {
		d.Aliases = append(d.Aliases, a.Address)
	}
	groups, err := st.Groups()
	if err != nil {
		return Directory{}, fmt.Errorf("read groups: %w", err)
	}
	for _, g := range groups {
		d.Groups = append(d.Groups, g.Address)
	}
	domains, err := st.Domains()
	if err != nil {
		return Directory{}, fmt.Errorf("read domains: %w", err)
	}
	d.Domains = []string{}
	for _, dom := range domains {
		d.Domains = append(d.Domains, dom.Name)
	}
	return d, nil
}

// Options tune Plan.
type Options struct {
	Domain string   // domain of rows whose address cell is empty or a bare local part
	Rule   NameRule // how missing addresses are made; the zero value is the default rule
	// Quota is the quota in bytes of rows with an empty quota cell, and what such rows state about an existing
	// account; 0 means unlimited, and such rows then state nothing about the quota.
	Quota int64
}

// ImportPlan is what importing a file would do. Making it changes nothing; Apply carries it out.
type ImportPlan struct {
	Create    []NewAccount // accounts to create, in file order
	Existing  []Existing   // rows whose account already exists as the file describes it: nothing to do
	Conflicts []*LineError // rows naming an existing account with other data: reported, never changed
	Errors    []*LineError // rows (or a header) that cannot be imported as written
}

// NewAccount is an account the plan creates.
type NewAccount struct {
	Line      int
	Address   string
	Name      string // trimmed, NFC, single spaces
	Unit      string
	Quota     int64 // bytes; 0 means unlimited
	Generated bool  // the address was made by the name rule
	// Namesakes are existing accounts with the same name, in any unit: check that this row is a new person.
	Namesakes []string
	// DuplicateOf is the line of an earlier row with the same name and unit (and no address), 0 if none: two
	// people of the same name in one office, or a row written twice.
	DuplicateOf int
}

// Existing is a row whose account already exists as the file describes it.
type Existing struct {
	Line    int
	Address string
}

// ErrConflict is the kind of a LineError for a row that names an existing account with other data.
var ErrConflict = errors.New("conflicts with an existing account")

// LineError is a problem with one row of the file: "line 7, column unit: unit vinhyen/xyz does not exist".
type LineError struct {
	Line     int    // 1-based line of the file where the row starts
	Column   string // the column as the header names it (or its English name without a header); "" for the row
	Err      error
	conflict bool
}

func (e *LineError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("line %d, column %s: %v", e.Line, e.Column, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrConflict) true for conflicts.
func (e *LineError) Is(target error) bool { return e.conflict && target == ErrConflict }

// Err lists every error and conflict in line order, one per line of text, or returns nil if there are none.
func (p *ImportPlan) Err() error {
	all := append(slices.Clone(p.Errors), p.Conflicts...)
	if len(all) == 0 {
		return nil
	}
	slices.SortStableFunc(all, func(a, b *LineError) int { return cmp.Compare(a.Line, b.Line) })
	errs := make([]error, len(all))
	for i, e := range all {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// Summary counts the plan in one line, e.g. "3 to create, 497 already exist, 0 conflicts, 0 errors".
func (p *ImportPlan) Summary() string {
	return fmt.Sprintf("%d to create, %d already exist, %d conflicts, %d errors",
		len(p.Create), len(p.Existing), len(p.Conflicts), len(p.Errors))
}

// Plan reads a staff file (see the package documentation for its format) and works out which accounts to create,
// comparing it with existing, a snapshot of the directory. It changes nothing.
//
// A file that cannot be read at all gives a nil plan and the reason. Otherwise the plan is returned with every
// row's outcome; if any row is invalid or conflicts, the error is the plan's Err (every problem, one per line of
// text) and Apply refuses the plan.
func Plan(r io.Reader, existing Directory, opts Options) (*ImportPlan, error) {
	if err := opts.Rule.check(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(opts.Domain) != "" {
		d, err := address.ParseDomain(opts.Domain)
		if err != nil {
			return nil, fmt.Errorf("invalid default domain %q: %s", opts.Domain, reason(err))
		}
		opts.Domain = d
	}
	if opts.Quota < 0 {
		return nil, fmt.Errorf("the default quota must not be negative (0 means unlimited)")
	}
	records, l, problems, err := readRecords(r)
	if err != nil {
		return nil, err
	}
	p := newPlanner(existing, opts, &l)
	p.plan.Errors = problems
	rows := make([]row, 0, len(records))
	for _, rec := range records {
		rows = append(rows, p.parse(rec))
	}
	p.markDuplicates(rows)
	for i := range rows {
		if rows[i].local != "" {
			p.planExplicit(&rows[i])
		}
	}
	var unmatched []*row
	for i := range rows {
		if rows[i].local == "" && rows[i].ok && !p.matchSameQuota(&rows[i]) {
			unmatched = append(unmatched, &rows[i])
		}
	}
	for _, r := range unmatched {
		p.planGenerated(r)
	}
	pl := p.plan
	byLine := func(a, b *LineError) int { return cmp.Compare(a.Line, b.Line) }
	slices.SortStableFunc(pl.Errors, byLine)
	slices.SortStableFunc(pl.Conflicts, byLine)
	slices.SortFunc(pl.Create, func(a, b NewAccount) int { return cmp.Compare(a.Line, b.Line) })
	slices.SortFunc(pl.Existing, func(a, b Existing) int { return cmp.Compare(a.Line, b.Line) })
	return pl, pl.Err()
}

// row is a data row read and checked column by column.
type row struct {
	line        int
	name        string // display name: trimmed, NFC, single spaces
	unit        string
	quota       int64
	quotaSet    bool   // the row gives a quota
	local       string // explicit local part; "" to generate one
	domain      string
	addressOK   bool   // local and domain make a valid address to create
	base        string // generated local part before numbering
	ok          bool   // no errors: the row may be planned
	duplicateOf int
}

// key identifies the person a row without an address stands for.
func (r *row) key() matchKey { return matchKey{foldName(r.name), r.unit, r.domain} }

type matchKey struct{ name, unit, domain string }

// cleanName returns a display name trimmed, in NFC and with single spaces, as it will be stored.
func cleanName(s string) string { return strings.Join(strings.Fields(norm.NFC.String(s)), " ") }

// foldName is the form in which names are compared: cleaned and lower-case.
func foldName(s string) string { return strings.ToLower(cleanName(s)) }

func quotaText(q int64) string {
	if q == 0 {
		return "unlimited"
	}
	return config.Size(q).String()
}
