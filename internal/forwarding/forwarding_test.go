package forwarding

import (
	"errors"
	"testing"
)

func TestPolicy(t *testing.T) {
	p := Policy{
		IsLocalDomain: func(d string) (bool, error) { return d == "vinhyen.gov.vn" || d == "phuyen.vinhyen.gov.vn", nil },
		Domains:       []string{"*.gov.vn", "DoiTac.vn."},
		Units:         []string{"tinh/so-01"},
	}
	cases := []struct {
		unit, target string
		allowed      bool
	}{
		{"", "an@vinhyen.gov.vn", true},
		{"", "an@PhuYen.VinhYen.gov.vn", true},
		{"tinh/so-02", "vanthu@quangninh.gov.vn", true}, // *.gov.vn
		{"tinh/so-02", "vanthu@gov.vn", false},          // *. matches below only
		{"tinh/so-02", "hop@doitac.vn", true},
		{"tinh/so-02", "ban@gmail.com", false},
		{"tinh/so-02", "ban@gov.vn.evil.com", false},
		{"tinh/so-01", "ban@gmail.com", true},           // the unit may forward anywhere
		{"tinh/so-01/phuong-03", "ban@gmail.com", true}, // and the units below it
		{"tinh/so-010", "ban@gmail.com", false},         // not a prefix of a path level
		{"tinh", "ban@gmail.com", false},                // nor the unit above
		{"tinh/so-02", "not an address", false},
	}
	for _, c := range cases {
		err := p.For(c.unit)(c.target)
		if (err == nil) != c.allowed {
			t.Errorf("unit %q → %s: %v, want allowed=%v", c.unit, c.target, err, c.allowed)
		}
		if err != nil && c.target != "not an address" && !errors.Is(err, ErrNotAllowed) {
			t.Errorf("unit %q → %s: %v is not ErrNotAllowed", c.unit, c.target, err)
		}
	}
}

func TestStoreErrorsAreNotAllowances(t *testing.T) {
	boom := errors.New("store closed")
	p := Policy{IsLocalDomain: func(string) (bool, error) { return false, boom }, Domains: []string{"gmail.com"}}
	if err := p.For("")("a@gmail.com"); !errors.Is(err, boom) {
		t.Errorf("a failing lookup: %v, want the store's error", err)
	}
}
