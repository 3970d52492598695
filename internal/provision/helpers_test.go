package provision

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"mailserver/internal/store"
)

const testDomain = "vinhyen.gov.vn"

var testUnits = []string{
	"vinhyen", "vinhyen/ubnd", "vinhyen/ubnd/phong-noi-vu", "vinhyen/ubnd/phong-tai-chinh",
	"vinhyen/phuong-dong-da", "vinhyen/xa-thanh-tru",
}

// testDirectory is a directory with the test units, domains vinhyen.gov.vn and ubnd.vinhyen.gov.vn, and the given
// accounts.
func testDirectory(accounts ...store.Account) Directory {
	return Directory{
		Accounts: accounts,
		Units:    testUnits,
		Domains:  []string{testDomain, "ubnd.vinhyen.gov.vn"},
	}
}

var testOptions = Options{Domain: testDomain}

// mustPlan plans file and fails the test on any problem.
func mustPlan(t *testing.T, file string, d Directory, opts Options) *ImportPlan {
	t.Helper()
	p, err := Plan(strings.NewReader(file), d, opts)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	return p
}

// created lists the plan's new accounts as "line address" strings.
func created(p *ImportPlan) []string {
	var out []string
	for _, c := range p.Create {
		out = append(out, fmt.Sprintf("%d %s", c.Line, c.Address))
	}
	return out
}

func wantCreated(t *testing.T, p *ImportPlan, want ...string) {
	t.Helper()
	if got := created(p); !slices.Equal(got, want) {
		t.Errorf("created:\n got %q\nwant %q", got, want)
	}
}

// errorTexts returns the text of each problem, errors and conflicts, in line order.
func errorTexts(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

// asAccounts turns a plan's new accounts into the accounts they would be, as if the plan had been applied.
func asAccounts(p *ImportPlan) []store.Account {
	var out []store.Account
	for _, c := range p.Create {
		out = append(out, store.Account{Address: c.Address, Name: c.Name, Unit: c.Unit, Quota: c.Quota})
	}
	return out
}
