package admin

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"mailserver/internal/store"
)

// QuotaReport is the storage used per account and per unit, largest first.
type QuotaReport struct {
	Accounts []AccountUsage `json:"accounts"`
	Units    []UnitUsage    `json:"units"`
}

// AccountUsage is one account's (or shared mailbox's) storage.
type AccountUsage struct {
	Address string `json:"address"`
	Name    string `json:"name,omitempty"`
	Unit    string `json:"unit,omitempty"`
	Shared  bool   `json:"shared,omitempty"`
	Quota   int64  `json:"quota"` // bytes; 0 means unlimited
	Used    int64  `json:"used"`  // bytes
}

// UnitUsage is the storage of a unit's accounts and shared mailboxes, its sub-units' included.
type UnitUsage struct {
	Path     string `json:"path"`
	Name     string `json:"name,omitempty"`
	Accounts int    `json:"accounts"` // people's accounts
	Shared   int    `json:"shared"`   // shared mailboxes: they belong to the unit but are not its members
	Used     int64  `json:"used"`     // bytes, of the accounts and the shared mailboxes
}

// addUse counts account a, which is in the unit or one of its sub-units.
func (u *UnitUsage) addUse(a store.Account) {
	if a.Shared {
		u.Shared++
	} else {
		u.Accounts++
	}
	u.Used += a.Used
}

// SetQuota sets an account's quota in bytes; 0 means unlimited. Mail already stored is kept when the new quota
// is below the use: new mail is then refused until enough is deleted.
func (s *Service) SetQuota(address string, quota int64) error {
	addr, _, err := cleanAddress(address)
	if err != nil {
		return err
	}
	if quota < 0 {
		return failf(ErrInvalid, "quota must not be negative (0 means unlimited)")
	}
	a, err := s.account(addr)
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("quota %s (was %s)", quotaString(quota), quotaString(a.Quota))
	return s.update(s.audited("quota.set", addr, detail), addr, func(a *store.Account) { a.Quota = quota })
}

func quotaString(q int64) string {
	if q == 0 {
		return "unlimited"
	}
	return FormatSize(q)
}

// QuotaReport lists every account's use and every unit's (with its sub-units), largest first; equal ones in
// address or path order.
func (s *Service) QuotaReport() (QuotaReport, error) {
	accounts, err := s.st.Accounts()
	if err != nil {
		return QuotaReport{}, err
	}
	units, err := s.st.Units()
	if err != nil {
		return QuotaReport{}, err
	}
	r := QuotaReport{Accounts: make([]AccountUsage, 0, len(accounts)), Units: make([]UnitUsage, 0, len(units))}
	index := make(map[string]int, len(units))
	for _, u := range units {
		index[u.Path] = len(r.Units)
		r.Units = append(r.Units, UnitUsage{Path: u.Path, Name: u.Name})
	}
	for _, a := range accounts {
		r.Accounts = append(r.Accounts, AccountUsage{Address: a.Address, Name: a.Name, Unit: a.Unit, Shared: a.Shared,
			Quota: a.Quota, Used: a.Used})
		for _, p := range unitAndParents(a.Unit) {
			if i, ok := index[p]; ok {
				r.Units[i].addUse(a)
			}
		}
	}
	slices.SortStableFunc(r.Accounts, func(x, y AccountUsage) int {
		return cmp.Or(cmp.Compare(y.Used, x.Used), strings.Compare(x.Address, y.Address))
	})
	slices.SortStableFunc(r.Units, func(x, y UnitUsage) int {
		return cmp.Or(cmp.Compare(y.Used, x.Used), strings.Compare(x.Path, y.Path))
	})
	return r, nil
}
