package address

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	"an.nv@vinhyen.gov.vn",
	"Nguyễn.Văn.An@Huế.vn",
	"nguye\u0302\u0303n@x.vn",
	"ĐẶNG.THỊ.ĐÀO@ĐÀNẴNG.VN",
	"an@xn--hu-07s.vn",
	"an@XN--VNHYN-KSA15B.gov.vn",
	"an@xn--abc.vn",
	"an@ＨＵＥ.vn",
	"an@huế。vn",
	`"an nv"@x.vn`,
	`"a\"b\\c"@x.vn`,
	`"a@b"@x.vn`,
	`"an"@x.vn`,
	`"\"an\""@x.vn`,
	"an@[192.0.2.1]",
	"an@[IPv6:2001:db8::1]",
	"an@[IPv6:::ffff:192.0.2.1]",
	strings.Repeat("a", 64) + "@x.vn",
	strings.Repeat("a", 65) + "@x.vn",
	strings.Repeat("Ⱥ", 32) + "@x.vn", // lower-casing makes it longer
	"a@" + strings.Repeat("b.", 126) + "vn",
	strings.Repeat("ế", 21) + "@" + strings.Repeat("huế.", 20) + "vn",
	"an\u202e@x.vn",
	"an@\u202ex.vn",
	"an@x\u200d.vn",
	"an@-huế.vn",
	"an\x00@x.vn",
	"an\xff@x.vn",
	"an@" + strings.Repeat("a", 64) + ".vn",
	"İ@x.vn",
	"ǅ@x.vn",
	"ß@straße.de",
	"",
	"@",
	`"`,
	`""@`,
	"\"\\",
}

// FuzzParse checks the rules every caller relies on, on any input: no panic; an address that parses is written by
// String in a form Parse reads back unchanged, with the same Key; a Key parses to itself; the domain is a valid ASCII
// name or literal within the limits.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkParsed(t, s, Parse)
		checkParsed(t, s, ParseUnquoted)
		if a, err := ParseNew(s); err == nil {
			if !isASCII(a.Key()) || isLiteral(a.Domain) {
				t.Errorf("ParseNew(%q) = %q", s, a)
			}
			if b, err := Parse(s); err != nil || b != a {
				t.Errorf("ParseNew(%q) = %q, Parse = %q, %v", s, a, b, err)
			}
		}
		if d, err := ParseDomain(s); err == nil {
			if again, err := ParseDomain(d); err != nil || again != d || labelsProblem(d) != "" {
				t.Errorf("ParseDomain(%q) = %q, again %q, %v", s, d, again, err)
			}
		}
		_ = Fold(s)
	})
}

func checkParsed(t *testing.T, s string, parse func(string) (Address, error)) {
	a, err := parse(s)
	if err != nil {
		return
	}
	str, key := a.String(), a.Key()
	b, err := Parse(str)
	if err != nil || b != a {
		t.Fatalf("%q parses to %#v; its String %q parses to %#v, %v", s, a, str, b, err)
	}
	k, err := Parse(key)
	if err != nil || k.Key() != key || k.String() != key {
		t.Fatalf("%q: Key %q parses to %#v (key %q), %v", s, key, k, k.Key(), err)
	}
	if !utf8.ValidString(str) || len(str) > MaxAddress || len(key) > MaxAddress {
		t.Fatalf("%q: String %q, Key %q", s, str, key)
	}
	if isLiteral(a.Domain) {
		return
	}
	if !isASCII(a.Domain) || labelsProblem(a.Domain) != "" {
		t.Fatalf("%q: domain %q is not a valid ASCII name", s, a.Domain)
	}
	if d, err := ParseDomain(a.Domain); err != nil || d != a.Domain {
		t.Fatalf("%q: domain %q reads back as %q, %v", s, a.Domain, d, err)
	}
	if a.NeedsSMTPUTF8() == isASCII(str) {
		t.Fatalf("%q: NeedsSMTPUTF8 %v for %q", s, a.NeedsSMTPUTF8(), str)
	}
}
