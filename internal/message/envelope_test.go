package message

import (
	"slices"
	"strings"
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

// Many mailers quote a display name that is an encoded word; net/mail leaves it encoded, and the ENVELOPE (what
// clients list and SEARCH FROM matches) must carry the name itself.
func TestQuotedEncodedDisplayName(t *testing.T) {
	raw := "From: \"=?UTF-8?B?Tmd1eeG7hW4gVsSDbiBBbg==?=\" <an@hanoi.gov.vn>\r\n" +
		"To: \"=?utf-8?q?Tr=E1=BA=A7n_Th=E1=BB=8B_B=C3=ACnh?=\" <binh@hanoi.gov.vn>, chi@hanoi.gov.vn\r\n" +
		"Subject: x\r\n\r\nbody\r\n"
	env := Parse([]byte(raw)).Envelope
	if len(env.From) != 1 || env.From[0].Name != "Nguyễn Văn An" {
		t.Errorf("From = %+v, want the name Nguyễn Văn An", env.From)
	}
	if len(env.To) != 2 || env.To[0].Name != "Trần Thị Bình" || env.To[1].Name != "" {
		t.Errorf("To = %+v, want Trần Thị Bình and an address without a name", env.To)
	}
}

// Old Vietnamese mailers label windows-1258 as x-windows-1258: the text must still be decoded, and found.
func TestXPrefixedCharset(t *testing.T) {
	raw := "From: vanthu@hue.gov.vn\r\nSubject: =?x-windows-1258?Q?B=E1o_c=E1o?=\r\n" +
		"Content-Type: text/plain; charset=x-windows-1258\r\n\r\n" + w1258 + "\r\n"
	p := Parse([]byte(raw))
	if p.Envelope.Subject != "Báo cáo" {
		t.Errorf("Subject = %q, want Báo cáo", p.Envelope.Subject)
	}
	if text := string(p.SearchText()); !strings.Contains(text, "bao cao tong ket") || !strings.Contains(text, "dang ky") {
		t.Errorf("search text %q lacks the folded body", text)
	}
}
