package message

import (
	"slices"
	"testing"
)

// AddressDomains finds the hosts the ENVELOPE shows for a field, net/mail's rejects included.
func TestAddressDomains(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  []string
	}{
		{"Van thu <vanthu@a.gov.vn>", []string{"a.gov.vn"}},
		{"x@c.gov.vn, =?UTF-8?Q?V=C4=83n?= <vanthu@a.gov.vn>", []string{"c.gov.vn", "a.gov.vn"}},
		{"Director <director@a.gov.vn", []string{"a.gov.vn"}},
		{"X <x@a.gov.vn>, <", []string{"a.gov.vn"}},
		{"Gi\xe1m \xf0\xe1c <director@a.gov.vn>", []string{"a.gov.vn"}},
		{"undisclosed-recipients:;", []string{}},
		{"<<<", []string{}},
		{"", []string{}},
	} {
		got := AddressDomains(tc.value)
		if !slices.Equal(got, tc.want) {
			t.Errorf("AddressDomains(%q) = %q, want %q", tc.value, got, tc.want)
		}
		var shown []string
		for _, a := range Parse([]byte("From: " + tc.value + "\r\n\r\nbody\r\n")).Envelope.From {
			shown = append(shown, a.Host)
		}
		if !slices.Equal(got, shown) && len(got)+len(shown) > 0 {
			t.Errorf("AddressDomains(%q) = %q, the ENVELOPE shows %q", tc.value, got, shown)
		}
	}
}
