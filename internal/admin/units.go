package admin

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"mailserver/internal/store"
)

// UnitInfo is an org unit as the administration layer shows it.
type UnitInfo struct {
	Path     string    `json:"path"` // e.g. "vinhyen/ubnd/phong-noi-vu"
	Name     string    `json:"name,omitempty"`
	Accounts int       `json:"accounts"` // people's accounts in the unit and its sub-units
	Direct   int       `json:"direct"`   // people's accounts in the unit itself
	Shared   int       `json:"shared"`   // shared mailboxes in the unit and its sub-units: not members, not accounts
	Created  time.Time `json:"created"`
}

// Depth is the unit's level in the tree: 0 for a top unit such as "vinhyen".
func (u UnitInfo) Depth() int { return strings.Count(u.Path, "/") }

// AddUnit adds an org unit, and its missing parents without a name. It returns the units added, parents first.
func (s *Service) AddUnit(path, name string) ([]UnitInfo, error) {
	p, err := cleanUnitPath(path)
	if err != nil {
		return nil, err
	}
	name, err = cleanName(name)
	if err != nil {
		return nil, err
	}
	var parents []string
	levels := strings.Split(p, "/")
	for i := 1; i < len(levels); i++ {
		parent := strings.Join(levels[:i], "/")
		_, err := s.st.Unit(parent)
		switch {
		case errors.Is(err, store.ErrUnitNotFound):
			parents = append(parents, parent)
		case err != nil:
			return nil, err
		}
	}
	var detail []string
	if name != "" {
		detail = append(detail, fmt.Sprintf("name %q", name))
	}
	if len(parents) > 0 {
		detail = append(detail, "parents added: "+strings.Join(parents, ", "))
	}
	u, err := s.audited("unit.add", p, strings.Join(detail, "; ")).AddUnit(p, name)
	switch {
	case errors.Is(err, store.ErrExists):
		return nil, failf(ErrExists, "unit %s already exists", p)
	case errors.Is(err, store.ErrInvalidUnit):
		return nil, failf(ErrInvalid, "invalid unit %q: write it like vinhyen/ubnd/phong-noi-vu", path)
	case err != nil:
		return nil, err
	}
	var out []UnitInfo
	for _, parent := range parents {
		out = append(out, UnitInfo{Path: parent, Created: u.Created})
	}
	out = append(out, UnitInfo{Path: u.Path, Name: u.Name, Created: u.Created})
	return out, nil
}

// ListUnits lists every unit in tree order (each parent right before its sub-units) with account counts.
func (s *Service) ListUnits() ([]UnitInfo, error) {
	units, err := s.st.Units()
	if err != nil {
		return nil, err
	}
	out := make([]UnitInfo, len(units))
	index := make(map[string]int, len(units))
	for i, u := range units {
		out[i] = UnitInfo{Path: u.Path, Name: u.Name, Direct: u.Accounts, Created: u.Created}
		index[u.Path] = i
	}
	for _, u := range units {
		for _, p := range unitAndParents(u.Path) {
			if i, ok := index[p]; ok {
				out[i].Accounts += u.Accounts
				out[i].Shared += u.Shared
			}
		}
	}
	return out, nil
}

// unitAndParents returns path and the paths of its parent units, nearest first: "a/b/c", "a/b", "a". An empty
// path (no unit) has none.
func unitAndParents(path string) []string {
	var out []string
	for p := path; p != ""; {
		out = append(out, p)
		cut := strings.LastIndexByte(p, '/')
		if cut < 0 {
			break
		}
		p = p[:cut]
	}
	return out
}

// SetUnitName sets the display name of an org unit, such as a parent AddUnit added without one; "" removes it.
// Setting the name a unit already has changes nothing and records nothing.
func (s *Service) SetUnitName(path, name string) (UnitInfo, error) {
	p, err := cleanUnitPath(path)
	if err != nil {
		return UnitInfo{}, err
	}
	name, err = cleanName(name)
	if err != nil {
		return UnitInfo{}, err
	}
	u, err := s.st.Unit(p)
	if errors.Is(err, store.ErrUnitNotFound) {
		return UnitInfo{}, noSuchUnit(p)
	} else if err != nil {
		return UnitInfo{}, err
	}
	if u.Name != name {
		u, err = s.audited("unit.set", p, fmt.Sprintf("name %q (was %q)", name, u.Name)).SetUnitName(p, name)
		if errors.Is(err, store.ErrUnitNotFound) {
			return UnitInfo{}, noSuchUnit(p) // removed meanwhile
		} else if err != nil {
			return UnitInfo{}, err
		}
	}
	// The result counts the unit's accounts, as ListUnits does.
	units, err := s.ListUnits()
	if err != nil {
		return UnitInfo{}, err
	}
	for _, info := range units {
		if info.Path == p {
			info.Name = u.Name
			return info, nil
		}
	}
	return UnitInfo{Path: u.Path, Name: u.Name, Created: u.Created}, nil // removed meanwhile
}

// noSuchUnit is the error for an existing unit that an operation names and that is not there. (noUnit is the one
// for a unit to put something in, which says how to add it.)
func noSuchUnit(p string) error {
	return failf(ErrNotFound, "unit %s does not exist: see 'mailserver unit list'", p)
}

// RemoveUnit removes a unit that has no accounts and no sub-units and is no group's member.
func (s *Service) RemoveUnit(path string) error {
	p, err := cleanUnitPath(path)
	if err != nil {
		return err
	}
	if _, err := s.st.Unit(p); errors.Is(err, store.ErrUnitNotFound) {
		return noSuchUnit(p)
	} else if err != nil {
		return err
	}
	member := store.UnitMemberPrefix + p
	groups, err := s.groupsWithMember(member)
	if err != nil {
		return err
	}
	if len(groups) > 0 {
		return failf(ErrInUse, "unit %s is a member of %d group(s) (%s): remove it first with 'mailserver group member remove GROUP %s'",
			p, len(groups), shortList(groups), member)
	}
	err = s.audited("unit.remove", p, "").RemoveUnit(p)
	switch {
	case errors.Is(err, store.ErrUnitNotFound):
		return noSuchUnit(p)
	case errors.Is(err, store.ErrUnitInUse):
		return s.unitInUse(p)
	}
	return err
}

// unitInUse explains which accounts and sub-units keep unit p from being removed.
func (s *Service) unitInUse(p string) error {
	accounts, err := s.st.UnitAccounts(p, false)
	if err != nil {
		return err
	}
	var subs []string
	units, err := s.st.Units()
	if err != nil {
		return err
	}
	for _, u := range units {
		if rest, ok := strings.CutPrefix(u.Path, p+"/"); ok && !strings.Contains(rest, "/") {
			subs = append(subs, u.Path)
		}
	}
	switch {
	case len(accounts) > 0 && len(subs) > 0:
		return failf(ErrInUse, "unit %s still has %s and %d sub-unit(s) (%s): move the accounts elsewhere with 'mailserver user move ADDRESS PATH' and remove the sub-units first",
			p, countAccounts(accounts), len(subs), shortList(subs))
	case len(accounts) > 0:
		return failf(ErrInUse, "unit %s still has %s: move them elsewhere with 'mailserver user move ADDRESS PATH' or remove them first",
			p, countAccounts(accounts))
	case len(subs) > 0:
		return failf(ErrInUse, "unit %s still has %d sub-unit(s) (%s): remove them first with 'mailserver unit remove PATH'",
			p, len(subs), shortList(subs))
	}
	return failf(ErrInUse, "unit %s is still in use: see 'mailserver unit list'", p) // emptied meanwhile: try again
}

// countAccounts names accounts for an error, people's accounts apart from shared mailboxes as 'unit list' counts
// them: "2 account(s) (a@…, b@…)", "1 shared mailbox(es) (vanthu@…)", or both joined by "and".
func countAccounts(accounts []store.Account) string {
	var people, shared []string
	for _, a := range accounts {
		if a.Shared {
			shared = append(shared, a.Address)
		} else {
			people = append(people, a.Address)
		}
	}
	var parts []string
	if len(people) > 0 {
		parts = append(parts, fmt.Sprintf("%d account(s) (%s)", len(people), shortList(people)))
	}
	if len(shared) > 0 {
		parts = append(parts, fmt.Sprintf("%d shared mailbox(es) (%s)", len(shared), shortList(shared)))
	}
	return strings.Join(parts, " and ")
}
