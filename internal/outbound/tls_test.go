package outbound

import "testing"

func TestParseTLSPolicy(t *testing.T) {
	for in, want := range map[string]TLSPolicy{"": TLSOpportunistic, "opportunistic": TLSOpportunistic,
		"none": TLSNone, "Required": TLSRequired, " verify ": TLSVerify} {
		got, err := ParseTLSPolicy(in)
		if err != nil || got != want {
			t.Errorf("ParseTLSPolicy(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, p := range []TLSPolicy{TLSOpportunistic, TLSNone, TLSRequired, TLSVerify} {
		if got, err := ParseTLSPolicy(p.String()); err != nil || got != p {
			t.Errorf("%v does not round-trip: %v, %v", p, got, err)
		}
	}
	if _, err := ParseTLSPolicy("dane"); err == nil {
		t.Error("unknown policy accepted")
	}
	if s := TLSPolicy(9).String(); s != "TLSPolicy(9)" {
		t.Errorf("String of an unknown policy: %q", s)
	}
}
