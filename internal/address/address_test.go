package address

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct{ in, str, key string }{
		{"an.nv@vinhyen.gov.vn", "an.nv@vinhyen.gov.vn", "an.nv@vinhyen.gov.vn"},
		{"  An.NV@VinhYen.Gov.VN\t", "An.NV@vinhyen.gov.vn", "an.nv@vinhyen.gov.vn"},
		{"user+tag@example.vn", "user+tag@example.vn", "user+tag@example.vn"},
		{"o'brien@example.com", "o'brien@example.com", "o'brien@example.com"},
		{"!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~@example.com"},
		{"admin@localhost", "admin@localhost", "admin@localhost"},
		{"a@b-c.d1", "a@b-c.d1", "a@b-c.d1"},
		{"a@r3---sn-abc.example.com", "a@r3---sn-abc.example.com", "a@r3---sn-abc.example.com"},
		// Vietnamese letters, precomposed or typed as base letter and combining marks (NFD).
		{"Nguyễn@Huế.vn", "Nguyễn@xn--hu-07s.vn", "nguyễn@xn--hu-07s.vn"},
		{"nguye\u0302\u0303n@x.vn", "nguyễn@x.vn", "nguyễn@x.vn"},
		{"NGUYỄN.VĂN.AN@x.vn", "NGUYỄN.VĂN.AN@x.vn", "nguyễn.văn.an@x.vn"},
		// The xn-- form of a domain is the same domain.
		{"an@XN--HU-07S.vn", "an@xn--hu-07s.vn", "an@xn--hu-07s.vn"},
		{"an@vĩnhyên.gov.vn", "an@xn--vnhyn-ksa15b.gov.vn", "an@xn--vnhyn-ksa15b.gov.vn"},
		{"an@ＨＵＥ.vn", "an@hue.vn", "an@hue.vn"}, // full-width letters map to ASCII (UTS #46)
		{"an@huế。vn", "an@xn--hu-07s.vn", "an@xn--hu-07s.vn"},
		// Quotes: around a dot-atom they change nothing; otherwise String keeps them.
		{`"an"@x.vn`, "an@x.vn", "an@x.vn"},
		{`"An NV"@x.vn`, `"An NV"@x.vn`, `"an nv"@x.vn`},
		{`"a@b"@x.vn`, `"a@b"@x.vn`, `"a@b"@x.vn`},
		{`"a\"b\\c"@x.vn`, `"a\"b\\c"@x.vn`, `"a\"b\\c"@x.vn`},
		{`"a..b"@x.vn`, `"a..b"@x.vn`, `"a..b"@x.vn`},
		{`"\a"@x.vn`, "a@x.vn", "a@x.vn"},
		// Address literals.
		{"an@[192.0.2.1]", "an@[192.0.2.1]", "an@[192.0.2.1]"},
		{"an@[ipv6:2001:DB8:0::1]", "an@[IPv6:2001:db8::1]", "an@[IPv6:2001:db8::1]"},
		// Limits: exactly at them.
		{strings.Repeat("a", 64) + "@x.vn", strings.Repeat("a", 64) + "@x.vn", strings.Repeat("a", 64) + "@x.vn"},
		{"a@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + "." + strings.Repeat("e", 60),
			"a@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + "." + strings.Repeat("e", 60),
			"a@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + "." + strings.Repeat("e", 60)},
	} {
		a, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if a.String() != tc.str || a.Key() != tc.key {
			t.Errorf("Parse(%q) = %q, key %q; want %q, key %q", tc.in, a, a.Key(), tc.str, tc.key)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                                        "it must look like an.nv@vinhyen.gov.vn",
		"an.example.vn":                           "it must look like an.nv@vinhyen.gov.vn",
		"@example.vn":                             "the part before '@' is empty",
		`""@example.vn`:                           "the part before '@' is empty",
		"an@":                                     "the part after '@' is empty",
		"an..nv@example.vn":                       "dots must separate words",
		".an@example.vn":                          "dots must separate words",
		"an.@example.vn":                          "dots must separate words",
		"an nv@example.vn":                        `cannot contain ' ' unless it is in quotes`,
		"a@b@example.vn":                          `cannot contain '@' unless it is in quotes`,
		`"an@example.vn`:                          "the quotes before '@' are not closed",
		`"a"b"@example.vn`:                        "the quotes before '@' are not closed",
		`"a\"@example.vn`:                         "the quotes before '@' are not closed",
		"an\x00@example.vn":                       `cannot contain '\x00'`,
		"\"a\tb\"@example.vn":                     `cannot contain '\t'`,
		"an\u202e@example.vn":                     `cannot contain '\u202e' (U+202E)`, // right-to-left override
		"an\u200b@example.vn":                     `cannot contain '\u200b' (U+200B)`, // zero-width space
		"an\u00a0nv@example.vn":                   `cannot contain '\u00a0' (U+00A0)`, // no-break space
		"☕@example.vn":                            `cannot contain '☕' (U+2615)`,
		"an\xff@example.vn":                       "not valid UTF-8",
		"an@example..vn":                          "bad domain: it has an empty label",
		"an@-example.vn":                          "bad domain: a label starts or ends with '-'",
		"an@example-.vn":                          "bad domain: a label starts or ends with '-'",
		"an@-huế.vn":                              "bad domain: a label starts or ends with '-'",
		"an@example.vn.":                          "bad domain: it has an empty label",
		"an@exa_mple.vn":                          "bad domain: use only letters, digits, '-' and '.'",
		"an@exa mple.vn":                          "bad domain: use only letters, digits, '-' and '.'",
		"an@vĩnh yên.vn":                          "bad domain: it is not a valid internationalised name",
		"an@xn--abc.vn":                           "bad domain: it is not a valid internationalised name",
		"an@xn--hu-07s.xn--ab.vn":                 "bad domain: it is not a valid internationalised name",
		"an@127.0.0.1":                            "bad domain: the last label is all digits",
		"an@example.123":                          "bad domain: the last label is all digits",
		"an@[192.0.2.1":                           "write an address literal as",
		"an@[300.0.2.1]":                          "write an address literal as",
		"an@[2001:db8::1]":                        "write an address literal as",
		"an@[IPv6:192.0.2.1]":                     "write an address literal as",
		"an@[IPv6:fe80::1%eth0]":                  "write an address literal as",
		"an@[tag:anything]":                       "write an address literal as",
		"an@" + strings.Repeat("a", 64) + ".vn":   "bad domain: a label is longer than 63",
		"an@" + strings.Repeat("a.", 126) + "vn":  "bad domain: longer than 253",
		strings.Repeat("a", 65) + "@x.vn":         "the part before '@' is longer than 64 bytes",
		`"` + strings.Repeat("a", 62) + ` "@x.vn`: "the part before '@' is longer than 64 bytes",
		strings.Repeat("a", 64) + "@" + strings.Repeat("b.", 94) + "vn": "it is longer than 254 bytes",
	} {
		a, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %q, %v; want error containing %q", in, a, err, want)
		}
	}
}

// Errors quote the input and say what is wrong, in the words the administration commands show.
func TestErrorText(t *testing.T) {
	_, err := Parse("binh@vinhyen..vn")
	if want := `invalid address "binh@vinhyen..vn": bad domain: it has an empty label (two dots in a row, or a dot at the start)`; err == nil || err.Error() != want {
		t.Errorf("Parse: %v, want %s", err, want)
	}
	_, err = ParseDomain("vinh yen.gov.vn")
	if want := `invalid domain name "vinh yen.gov.vn": use only letters, digits, '-' and '.'`; err == nil || err.Error() != want {
		t.Errorf("ParseDomain: %v, want %s", err, want)
	}
}

// ParseUnquoted reads the local part as go-smtp and net/mail give it, quotes already removed.
func TestParseUnquoted(t *testing.T) {
	for in, want := range map[string]string{
		"an.nv@x.vn":      "an.nv@x.vn",
		"An NV@X.vn":      `"An NV"@x.vn`,
		"a@b@x.vn":        `"a@b"@x.vn`,
		`a"b\c@x.vn`:      `"a\"b\\c"@x.vn`,
		`"an"@x.vn`:       `"\"an\""@x.vn`, // the quotes are part of the local part here
		"a..b@x.vn":       `"a..b"@x.vn`,
		"nguyễn@huế.vn":   "nguyễn@xn--hu-07s.vn",
		"  an@x.vn  ":     "an@x.vn",
		"an@[192.0.2.01]": "", // leading zeros are refused
		"an\tnv@x.vn":     "",
		"@x.vn":           "",
	} {
		a, err := ParseUnquoted(in)
		if want == "" {
			if err == nil {
				t.Errorf("ParseUnquoted(%q) = %q, want an error", in, a)
			}
			continue
		}
		if err != nil || a.String() != want {
			t.Errorf("ParseUnquoted(%q) = %q, %v; want %q", in, a, err, want)
		}
		if b, err := Parse(a.String()); err != nil || b != a {
			t.Errorf("Parse(%q) = %q, %v; want %q", a.String(), b, err, a)
		}
	}
}

func TestParseNew(t *testing.T) {
	for in, want := range map[string]string{
		"An.NV@VinhYen.gov.vn": "",
		"a_b-c+d@x.vn":         "",
		"an@huế.vn":            "", // any domain name: it is stored in its ASCII form
		"bình@vinhyen.gov.vn":  "before '@' use only letters without diacritics, digits and . _ - +",
		"o'brien@x.vn":         "before '@' use only letters without diacritics, digits and . _ - +",
		"a/b@x.vn":             "before '@' use only letters without diacritics, digits and . _ - +",
		"a b@x.vn":             "before '@' use only letters without diacritics, digits and . _ - +",
		`"an"@x.vn`:            "before '@' use only letters without diacritics, digits and . _ - +",
		"an@[192.0.2.1]":       "the part after '@' must be a domain name, not an address literal",
		"binh.@x.vn":           "dots must separate words",
		"binh":                 "it must look like an.nv@vinhyen.gov.vn",
		"@x.vn":                "the part before '@' is empty",
	} {
		a, err := ParseNew(in)
		switch {
		case want == "" && err != nil:
			t.Errorf("ParseNew(%q): %v", in, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("ParseNew(%q) = %q, %v; want error containing %q", in, a, err, want)
		}
	}
}

func TestParseDomain(t *testing.T) {
	for in, want := range map[string]string{
		"VinhYen.Gov.VN":    "vinhyen.gov.vn",
		" vinhyen.gov.vn. ": "vinhyen.gov.vn",
		"huế.vn":            "xn--hu-07s.vn",
		"xn--hu-07s.vn":     "xn--hu-07s.vn",
		"HUẾ.VN.":           "xn--hu-07s.vn",
		"straße.de":         "xn--strae-oqa.de", // non-transitional: ß is not ss
		"localhost":         "localhost",
		"":                  "it is empty; use a name like vinhyen.gov.vn",
		".":                 "it is empty; use a name like vinhyen.gov.vn",
		"vinhyen.gov.vn..":  "it has an empty label",
		"an@vinhyen":        "use only letters, digits, '-' and '.'",
		"[192.0.2.1]":       "use only letters, digits, '-' and '.'",
		"192.0.2.1":         "the last label is all digits",
	} {
		d, err := ParseDomain(in)
		switch {
		case strings.Contains(want, " "):
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("ParseDomain(%q) = %q, %v; want error containing %q", in, d, err, want)
			}
		case err != nil || d != want:
			t.Errorf("ParseDomain(%q) = %q, %v; want %q", in, d, err, want)
		}
	}
}

func TestEqual(t *testing.T) {
	parse := func(s string) Address {
		a, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, pair := range [][2]string{
		{"An.NV@Huế.vn", "an.nv@xn--hu-07s.vn"},
		{"nguye\u0302\u0303n@x.vn", "NGUYỄN@X.VN"},
		{`"an.nv"@x.vn`, "an.nv@x.vn"},
	} {
		if !parse(pair[0]).Equal(parse(pair[1])) {
			t.Errorf("%q and %q differ", pair[0], pair[1])
		}
	}
	for _, pair := range [][2]string{
		{"an@x.vn", "an@x.vn.vn"},
		{"an@huế.vn", "an@hue.vn"},
		{"straße@x.de", "strasse@x.de"},
		{`"a b"@x.vn`, "ab@x.vn"},
	} {
		if parse(pair[0]).Equal(parse(pair[1])) {
			t.Errorf("%q and %q are equal", pair[0], pair[1])
		}
	}
}

func TestNeedsSMTPUTF8(t *testing.T) {
	for in, want := range map[string]bool{
		"an@x.vn":     false,
		"an@huế.vn":   false, // the domain travels as xn--hu-07s.vn
		"nguyễn@x.vn": true,
		`"a b"@x.vn`:  false,
	} {
		a, err := Parse(in)
		if err != nil || a.NeedsSMTPUTF8() != want {
			t.Errorf("Parse(%q).NeedsSMTPUTF8() = %v, %v; want %v", in, a.NeedsSMTPUTF8(), err, want)
		}
	}
}

// Fold keeps finding keys written under the rule before this package: trimmed and lower-cased.
func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		" An@Huế.VN ":     "an@xn--hu-07s.vn",
		"An@Example.123":  "an@example.123", // refused now, folded the old way
		"unit:VinhYen/UB": "unit:vinhyen/ub",
		"":                "",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFoldDomain(t *testing.T) {
	for in, want := range map[string]string{
		" Huế.VN. ":   "xn--hu-07s.vn",
		"Legacy.123 ": "legacy.123", // refused now, folded the old way
	} {
		if got := FoldDomain(in); got != want {
			t.Errorf("FoldDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNullPath(t *testing.T) {
	var null Address
	if null.String() != "" || null.Key() != "" || null.NeedsSMTPUTF8() {
		t.Errorf("null reverse-path: %q, key %q", null.String(), null.Key())
	}
}
