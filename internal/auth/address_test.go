package auth

import "testing"

func TestAddressOwned(t *testing.T) {
	owned := []string{"an.nv@hanoi.gov.vn", " VanThu@HaNoi.gov.vn ", "lan@xn--hu-07s.vn"}
	for addr, want := range map[string]bool{
		"an.nv@hanoi.gov.vn":     true,
		"AN.NV@HANOI.GOV.VN":     true,
		"  an.nv@hanoi.gov.vn\t": true,
		"vanthu@hanoi.gov.vn":    true,
		"Lan@Huế.vn":             true, // the Unicode form of the stored xn-- domain
		"lan@XN--HU-07S.VN":      true,
		"an.nv@hanoi.gov.vn.":    false,
		"an@hanoi.gov.vn":        false,
		"an.nv@evil.example":     false,
		"an nv@hanoi.gov.vn":     false, // "an nv"@hanoi.gov.vn, unquoted by the protocol: another mailbox
		"lan@hue.vn":             false,
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

func TestLoginKey(t *testing.T) {
	for in, want := range map[string]string{
		"An.NV@HaNoi.Gov.VN ":     "an.nv@hanoi.gov.vn",
		"an@Huế.vn":               "an@xn--hu-07s.vn",
		"nguye\u0302\u0303n@x.vn": "nguyễn@x.vn",
		" An ":                    "an", // not an address: trimmed and lower-cased, as before
	} {
		if got := loginKey(in); got != want {
			t.Errorf("loginKey(%q) = %q, want %q", in, got, want)
		}
	}
}
