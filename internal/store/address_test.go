package store

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// testdata/address-keys-before-package-address.db was written by the store of commit 30d556f, whose keys were the
// addresses trimmed and lower-cased, with what the administration commands of that release let through: ASCII
// only, the xn-- form of Huế.vn, and legacy.123, whose all-digit top label today's rules refuse. It holds
//
//	domains  xn--hu-07s.vn, legacy.123
//	accounts an.nv@xn--hu-07s.vn, old@legacy.123
//	alias    van.an@xn--hu-07s.vn → an.nv@xn--hu-07s.vn
//	group    phong@xn--hu-07s.vn (policy senders), members an.nv@xn--hu-07s.vn and old@legacy.123, senders
//	         van.an@xn--hu-07s.vn and lan@xn--bnhdng-wva56l3d.vn (lan@bìnhdương.vn)
//
// Every key is found again, under any spelling of its address, without a migration.
func TestKeysWrittenBeforePackageAddress(t *testing.T) {
	fixture, err := os.ReadFile("testdata/address-keys-before-package-address.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mail.db")
	if err := os.WriteFile(path, fixture, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, d := range []string{"xn--hu-07s.vn", "Huế.vn", "HUẾ.VN.", "legacy.123", "Legacy.123"} {
		if ok, err := s.HasDomain(d); !ok || err != nil {
			t.Errorf("HasDomain(%q) = %v, %v", d, ok, err)
		}
	}
	for spelling, want := range map[string]string{
		"an.nv@xn--hu-07s.vn":        "an.nv@xn--hu-07s.vn",
		"AN.NV@Huế.vn":               "an.nv@xn--hu-07s.vn",
		" an.nv@hue\u0302\u0301.vn ": "an.nv@xn--hu-07s.vn", // NFD
		"Old@Legacy.123":             "old@legacy.123",
	} {
		if a, err := s.Account(spelling); err != nil || a.Address != want {
			t.Errorf("Account(%q) = %q, %v; want %s", spelling, a.Address, err, want)
		}
	}
	if e, err := s.Lookup("Van.An@huế.vn"); err != nil || e.Kind != KindAlias || e.Alias.Target != "an.nv@xn--hu-07s.vn" {
		t.Errorf("Lookup(alias) = %+v, %v", e, err)
	}
	if aliases, err := s.AliasesOf("an.nv@huế.vn"); err != nil || !slices.Equal(aliases, []string{"van.an@xn--hu-07s.vn"}) {
		t.Errorf("AliasesOf = %v, %v", aliases, err)
	}
	if g, err := s.Group("PHONG@huế.vn"); err != nil || len(g.Members) != 2 {
		t.Errorf("Group = %+v, %v", g, err)
	}
	for _, sender := range []string{"lan@bìnhdương.vn", "Van.An@HUẾ.vn"} {
		if groups, err := s.GroupsSentBy([]string{sender}); err != nil || !slices.Equal(groups, []string{"phong@xn--hu-07s.vn"}) {
			t.Errorf("GroupsSentBy(%s) = %v, %v", sender, groups, err)
		}
	}
	if err := s.Check(); err != nil {
		t.Errorf("check: %v", err)
	}
}
