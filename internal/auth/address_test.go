package auth

import (
	"strings"
	"testing"
)

func TestAddressOwned(t *testing.T) {
	owned := []string{"an.nv@hanoi.gov.vn", " VanThu@HaNoi.gov.vn "}
	for addr, want := range map[string]bool{
		"an.nv@hanoi.gov.vn":     true,
		"AN.NV@HANOI.GOV.VN":     true,
		"  an.nv@hanoi.gov.vn\t": true,
		"vanthu@hanoi.gov.vn":    true,
		"an.nv@hanoi.gov.vn.":    false,
		"an@hanoi.gov.vn":        false,
		"an.nv@evil.example":     false,
		"":                       false,
	} {
		if got := AddressOwned(addr, owned); got != want {
			t.Errorf("AddressOwned(%q) = %v, want %v", addr, got, want)
		}
	}
	if AddressOwned("", []string{""}) {
		t.Error("the null sender is owned")
	}
	// Decomposed (NFD) input matches the precomposed form.
	if !AddressOwned("nguye\u0302\u0303n@hue.vn", []string{"nguyễn@hue.vn"}) {
		t.Error("NFD address not matched")
	}
}

func TestNormalizeAddress(t *testing.T) {
	for in, want := range map[string]string{
		"An.NV@HaNoi.Gov.VN":      "an.nv@hanoi.gov.vn",
		"  user+tag@example.vn ":  "user+tag@example.vn",
		"o'brien@example.com":     "o'brien@example.com",
		"admin@localhost":         "admin@localhost",
		"Nguyễn@Huế.vn":           "nguyễn@huế.vn",
		"nguye\u0302\u0303n@x.vn": "nguyễn@x.vn",
		"a@b-c.d1":                "a@b-c.d1",
	} {
		got, err := NormalizeAddress(in)
		if err != nil || got != want {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestNormalizeAddressErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                                "missing @",
		"an.example.vn":                   "missing @",
		"@example.vn":                     "empty local part",
		"an@":                             "empty domain",
		"an..nv@example.vn":               "empty dot-separated part",
		".an@example.vn":                  "empty dot-separated part",
		"an nv@example.vn":                `invalid character ' '`,
		`"an nv"@example.vn`:              `invalid character '"'`,
		"a@b@example.vn":                  `invalid character '@'`,
		strings.Repeat("a", 65) + "@x.vn": "longer than 64",
		"an@example..vn":                  "invalid domain",
		"an@-example.vn":                  "invalid domain",
		"an@example.vn.":                  "invalid domain",
		"an@[192.0.2.1]":                  "invalid domain",
		"an@exa_mple.vn":                  "invalid domain",
		"an@" + strings.Repeat("a", 64):   "invalid domain",
		"an@" + strings.Repeat("a.", 127): "longer than 253",
	} {
		got, err := NormalizeAddress(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want error containing %q", in, got, err, want)
		}
	}
}
