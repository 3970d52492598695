package provision

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"mailserver/internal/address"
	"mailserver/internal/config"
	"mailserver/internal/store"
)

// maxNameRunes matches the longest display name admin.AddUser accepts.
const maxNameRunes = 128

// planner works out an ImportPlan. Its maps make each row cost a few lookups, so a plan is linear in the size
// of the file and the directory.
type planner struct {
	opts   Options
	labels *[numColumns]string
	plan   *ImportPlan

	accounts map[string]store.Account     // by address
	byKey    map[matchKey][]string        // person accounts by folded name, unit, domain; see compareAddresses
	byName   map[string][]string          // accounts by folded name; see compareAddresses
	taken    map[string]store.AddressKind // aliases and groups
	units    map[string]bool              // unit paths
	domains  map[string]bool              // nil: not checked
	claimed  map[string]int               // explicit address → line of the row that gives it
	given    map[string]bool              // addresses generated for this file
	matched  map[string]bool              // existing accounts a row already stands for
	next     map[string]int               // base@domain → the duplicate number to try next (0: the base itself)
	firstRow map[matchKey]int             // line of the first row with each name, unit and domain
}

func newPlanner(d Directory, opts Options, l *layout) *planner {
	p := &planner{
		opts: opts, labels: &l.labels, plan: &ImportPlan{},
		accounts: make(map[string]store.Account, len(d.Accounts)),
		byKey:    make(map[matchKey][]string, len(d.Accounts)),
		byName:   make(map[string][]string, len(d.Accounts)),
		taken:    map[string]store.AddressKind{},
		units:    make(map[string]bool, len(d.Units)),
		claimed:  map[string]int{}, given: map[string]bool{}, matched: map[string]bool{},
		next: map[string]int{}, firstRow: map[matchKey]int{},
	}
	accounts := slices.Clone(d.Accounts)
	slices.SortFunc(accounts, func(a, b store.Account) int { return compareAddresses(a.Address, b.Address) })
	for _, a := range accounts {
		addr := strings.ToLower(a.Address)
		p.accounts[addr] = a
		name := foldName(a.Name)
		p.byName[name] = append(p.byName[name], addr)
		if !a.Shared {
			k := matchKey{name, a.Unit, addr[strings.LastIndexByte(addr, '@')+1:]}
			p.byKey[k] = append(p.byKey[k], addr)
		}
	}
	for _, a := range d.Aliases {
		p.taken[strings.ToLower(a)] = store.KindAlias
	}
	for _, g := range d.Groups {
		p.taken[strings.ToLower(g)] = store.KindGroup
	}
	for _, u := range d.Units {
		p.units[u] = true
	}
	if d.Domains != nil {
		p.domains = make(map[string]bool, len(d.Domains))
		for _, dom := range d.Domains {
			p.domains[strings.ToLower(dom)] = true
		}
	}
	return p
}

// fail records a problem with a row's column.
func (p *planner) fail(r *row, c column, format string, args ...any) {
	r.ok = false
	p.plan.Errors = append(p.plan.Errors, &LineError{Line: r.line, Column: p.labels[c], Err: fmt.Errorf(format, args...)})
}

func (p *planner) conflict(r *row, c column, format string, args ...any) {
	p.plan.Conflicts = append(p.plan.Conflicts,
		&LineError{Line: r.line, Column: p.labels[c], Err: fmt.Errorf(format, args...), conflict: true})
}

// parse checks each cell of a record.
func (p *planner) parse(rec record) row {
	r := row{line: rec.line, ok: true}
	p.parseName(&r, rec.cells[colName])
	p.parseUnit(&r, rec.cells[colUnit])
	p.parseAddress(&r, rec.cells[colAddress])
	p.parseQuota(&r, rec.cells[colQuota])
	if r.local == "" && r.name != "" {
		base, err := p.opts.Rule.LocalPart(r.name)
		if err != nil {
			p.fail(&r, colName, "%v", err)
		}
		r.base = base
	}
	return r
}

func (p *planner) parseName(r *row, cell string) {
	r.name = cleanName(cell)
	switch {
	case r.name == "":
		p.fail(r, colName, "the name is empty")
	case utf8.RuneCountInString(r.name) > maxNameRunes:
		p.fail(r, colName, "the name is longer than %d characters", maxNameRunes)
	case strings.ContainsFunc(r.name, unicode.IsControl):
		p.fail(r, colName, "the name contains control characters")
	}
}

func (p *planner) parseUnit(r *row, cell string) {
	r.unit = strings.ToLower(cell)
	switch {
	case r.unit == "":
		p.fail(r, colUnit, "the unit is empty: give the unit path, e.g. vinhyen/ubnd/phong-noi-vu")
	case !p.units[r.unit]:
		p.fail(r, colUnit, "unit %s does not exist (see 'mailserver unit list', or add it with 'mailserver unit add %s')",
			r.unit, r.unit)
	}
}

func (p *planner) parseQuota(r *row, cell string) {
	r.quota = p.opts.Quota
	if cell == "" {
		return
	}
	if !strings.Contains(cell, ".") {
		cell = strings.Replace(cell, ",", ".", 1) // a decimal comma, as Vietnamese spreadsheets write 1,5GB
	}
	q, err := config.ParseSize(cell)
	if err != nil {
		p.fail(r, colQuota, "%v", err)
		return
	}
	r.quota, r.quotaSet = int64(q), true
}

// parseAddress reads "local@domain", "local" (in the default domain), "@domain" or "" (generate in the default
// domain), by the rules of addresses created here (address.ParseNew).
func (p *planner) parseAddress(r *row, cell string) {
	local, domain := strings.TrimSpace(cell), p.opts.Domain
	at := strings.LastIndexByte(local, '@')
	hasAt := at >= 0
	if hasAt {
		local, domain = local[:at], local[at+1:]
	}
	r.local, r.domain = strings.ToLower(local), strings.ToLower(domain) // as given, until checked
	switch {
	case hasAt && domain == "":
		p.fail(r, colAddress, "the part after '@' is empty")
		return
	case domain == "":
		p.fail(r, colAddress, "no domain: write a full address such as annv@vinhyen.gov.vn, or set the default domain")
		return
	}
	d, err := address.ParseDomain(domain)
	if err != nil {
		p.fail(r, colAddress, "invalid domain %q: %s", domain, reason(err))
		return
	}
	r.domain = d
	if p.domains != nil && !p.domains[d] {
		p.fail(r, colAddress, "domain %s is not served here (add it with 'mailserver domain add %s')", d, d)
	}
	if local == "" {
		return
	}
	a, err := address.ParseNew(local + "@" + d)
	if err != nil {
		p.fail(r, colAddress, "invalid address %q: %s", cell, reason(err))
		return
	}
	r.local, r.addressOK = strings.TrimSuffix(a.Key(), "@"+d), true
}

// reason is what an address error says is wrong, without the input it quotes.
func reason(err error) string {
	if e, ok := errors.AsType[*address.Error](err); ok {
		return e.Reason
	}
	return err.Error()
}

// markDuplicates notes rows without an address whose name, unit and domain an earlier row already had.
func (p *planner) markDuplicates(rows []row) {
	for i := range rows {
		r := &rows[i]
		if !r.ok {
			continue
		}
		k := r.key()
		if first, ok := p.firstRow[k]; ok {
			r.duplicateOf = first
		} else {
			p.firstRow[k] = r.line
		}
	}
}

// planExplicit plans a row that gives its address. Its address is reserved even when the row has errors, so
// that no generated address takes it.
func (p *planner) planExplicit(r *row) {
	if !r.addressOK {
		return
	}
	addr := r.local + "@" + r.domain
	if line, ok := p.claimed[addr]; ok {
		p.fail(r, colAddress, "%s is also on line %d", addr, line)
		return
	}
	p.claimed[addr] = r.line
	if !r.ok {
		return
	}
	if kind, ok := p.taken[addr]; ok {
		p.fail(r, colAddress, "%s is already an %s", addr, kind)
		return
	}
	if a, ok := p.accounts[addr]; ok {
		p.matched[addr] = true
		p.compare(r, a)
		return
	}
	p.create(r, addr, false)
}

// matchSameQuota plans a valid row without an address that states a quota as an existing account with the same
// name, unit and domain and that quota, if one is left that no other row stands for. Rows are matched so before
// any is matched by name alone, so that namesakes in one unit with different quotas are told apart by their
// quotas whatever the order of the rows. It reports whether the row was planned.
func (p *planner) matchSameQuota(r *row) bool {
	if !p.statesQuota(r) {
		return false
	}
	for _, addr := range p.byKey[r.key()] {
		if a := p.accounts[addr]; !p.matched[addr] && a.Quota == r.quota {
			p.matched[addr] = true
			p.compare(r, a)
			return true
		}
	}
	return false
}

// planGenerated plans a valid row without an address: an existing account with the same name, unit and domain
// that no other row stands for, or a new account under the first free address the rule gives.
func (p *planner) planGenerated(r *row) {
	for _, addr := range p.byKey[r.key()] {
		if !p.matched[addr] {
			p.matched[addr] = true
			p.compare(r, p.accounts[addr])
			return
		}
	}
	baseAddr := r.base + "@" + r.domain
	for k := p.next[baseAddr]; ; k++ {
		local := r.base
		if k > 0 {
			local = p.opts.Rule.numbered(r.base, k)
		}
		if len(local) > maxLocalPart {
			p.fail(r, colName, "the address made from %q would be longer than %d characters; write one in column %s",
				r.name, maxLocalPart, p.labels[colAddress])
			return
		}
		addr := local + "@" + r.domain
		if p.free(addr) {
			p.next[baseAddr] = k + 1
			p.given[addr] = true
			p.create(r, addr, true)
			return
		}
	}
}

// free reports whether no account, alias, group or row of the file has addr.
func (p *planner) free(addr string) bool {
	_, account := p.accounts[addr]
	_, taken := p.taken[addr]
	_, claimed := p.claimed[addr]
	return !account && !taken && !claimed && !p.given[addr]
}

func (p *planner) create(r *row, addr string, generated bool) {
	na := NewAccount{Line: r.line, Address: addr, Name: r.name, Unit: r.unit, Quota: r.quota, Generated: generated}
	na.Namesakes = slices.Clone(p.byName[foldName(r.name)])
	if generated {
		na.DuplicateOf = r.duplicateOf
	}
	p.plan.Create = append(p.plan.Create, na)
}

// compare plans a row that stands for existing account a: nothing to do if the row describes it, a conflict for
// each column that differs otherwise.
func (p *planner) compare(r *row, a store.Account) {
	if a.Shared {
		p.conflict(r, colAddress, "%s is a shared mailbox, not a person's account", a.Address)
		return
	}
	same := true
	if a.Unit != r.unit {
		same = false
		unit := "in unit " + a.Unit
		if a.Unit == "" {
			unit = "in no unit"
		}
		p.conflict(r, colUnit, "%s already exists %s, not %s: move it with 'mailserver user move %s %s', or fix the file",
			a.Address, unit, r.unit, a.Address, r.unit)
	}
	if foldName(a.Name) != foldName(r.name) {
		same = false
		p.conflict(r, colName, "%s already exists with the name %q, not %q: fix the file or the account",
			a.Address, a.Name, r.name)
	}
	if p.statesQuota(r) && a.Quota != r.quota {
		same = false
		p.quotaConflict(r, a)
	}
	if same {
		p.plan.Existing = append(p.plan.Existing, Existing{Line: r.line, Address: a.Address})
	}
}

// statesQuota reports whether row r says what quota its account has: its own, or the default quota for rows
// without one (Options.Quota, the --quota flag), which an account the row creates would get. Without either, the
// row says nothing about the quota.
func (p *planner) statesQuota(r *row) bool { return r.quotaSet || p.opts.Quota != 0 }

// quotaConflict reports that existing account a, which row r stands for, has another quota than the row states.
func (p *planner) quotaConflict(r *row, a store.Account) {
	if r.quotaSet {
		p.conflict(r, colQuota, "%s already exists with quota %s, not %s: change it with 'mailserver quota set %s %s', or fix the file",
			a.Address, quotaText(a.Quota), quotaText(r.quota), a.Address, config.Size(r.quota))
		return
	}
	p.conflict(r, colQuota, "%s already exists with quota %s, not %s (the quota for rows without one): change it with 'mailserver quota set %s %s', or give the row its own quota",
		a.Address, quotaText(a.Quota), quotaText(r.quota), a.Address, config.Size(r.quota))
}

// compareAddresses orders addresses as the name rule numbers them — annv, annv2, annv10 — so that rows without an
// address match namesakes in one unit in the order they were created: by local part without its final digits,
// then by the number those digits make (none first), then by domain.
func compareAddresses(a, b string) int {
	la, da := splitAddress(a)
	lb, db := splitAddress(b)
	ba, na := splitNumber(la)
	bb, nb := splitNumber(lb)
	return cmp.Or(strings.Compare(ba, bb), cmp.Compare(len(na), len(nb)), strings.Compare(na, nb),
		strings.Compare(da, db), strings.Compare(a, b))
}

func splitAddress(a string) (local, domain string) {
	at := strings.LastIndexByte(a, '@')
	if at < 0 {
		return a, ""
	}
	return a[:at], a[at+1:]
}

// splitNumber splits the final digits off s.
func splitNumber(s string) (base, digits string) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	return s[:i], s[i:]
}
