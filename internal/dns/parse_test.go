package dns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustParse(t *testing.T, text string) *Zone {
	t.Helper()
	z, err := ParseZone(strings.NewReader(text), "test.zone")
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// sample uses every feature of the syntax the parser supports.
const sample = `; Override for the closed network of tỉnh Vĩnh Phúc.
$ORIGIN VinhPhuc.gov.vn.
$TTL 3600

@            IN  MX   10 mail
             IN  MX   20 Mail.Backup.gov.vn.   ; blank owner: the same name
@ 300 IN TXT "v=spf1 mx -all"
mail    IN 60 A 192.0.2.25                     ; class before TTL
mail         aaaa 2001:DB8:0::25
rsa-202611._domainkey IN TXT ( "v=DKIM1; k=rsa; "
        "p=MIIB" ; a comment inside the parentheses
        "IjAN" )
_submission._tcp  SRV 0 1 587 mail
autoconfig CNAME mail
esc.example.  txt "a\"b\\c\065 \195\160;()"
unquoted.example. TXT v=spf1\ -all
$ORIGIN 2.0.192.in-addr.arpa.
25  PTR mail.vinhphuc.gov.vn.
`

var sampleRecords = []Record{
	{Name: "vinhphuc.gov.vn.", TTL: 3600, Type: "MX", Data: "10 mail.vinhphuc.gov.vn."},
	{Name: "vinhphuc.gov.vn.", TTL: 3600, Type: "MX", Data: "20 mail.backup.gov.vn."},
	{Name: "vinhphuc.gov.vn.", TTL: 300, Type: "TXT", Data: "v=spf1 mx -all"},
	{Name: "mail.vinhphuc.gov.vn.", TTL: 60, Type: "A", Data: "192.0.2.25"},
	{Name: "mail.vinhphuc.gov.vn.", TTL: 3600, Type: "AAAA", Data: "2001:db8::25"},
	{Name: "rsa-202611._domainkey.vinhphuc.gov.vn.", TTL: 3600, Type: "TXT", Data: "v=DKIM1; k=rsa; p=MIIBIjAN"},
	{Name: "_submission._tcp.vinhphuc.gov.vn.", TTL: 3600, Type: "SRV", Data: "0 1 587 mail.vinhphuc.gov.vn."},
	{Name: "autoconfig.vinhphuc.gov.vn.", TTL: 3600, Type: "CNAME", Data: "mail.vinhphuc.gov.vn."},
	{Name: "esc.example.", TTL: 3600, Type: "TXT", Data: `a"b\cA à;()`},
	{Name: "unquoted.example.", TTL: 3600, Type: "TXT", Data: "v=spf1 -all"},
	{Name: "25.2.0.192.in-addr.arpa.", TTL: 3600, Type: "PTR", Data: "mail.vinhphuc.gov.vn."},
}

func TestParseZone(t *testing.T) {
	for name, text := range map[string]string{
		"LF":               sample,
		"CRLF":             strings.ReplaceAll(sample, "\n", "\r\n"),
		"no final newline": strings.TrimSuffix(sample, "\n"),
	} {
		got := mustParse(t, text).Records()
		if len(got) != len(sampleRecords) {
			t.Fatalf("%s: %d records, want %d: %v", name, len(got), len(sampleRecords), got)
		}
		for i := range got {
			if got[i] != sampleRecords[i] {
				t.Errorf("%s: record %d:\n got %#v\nwant %#v", name, i, got[i], sampleRecords[i])
			}
		}
	}
}

func TestParseRelativeNames(t *testing.T) {
	got := mustParse(t, `
$ORIGIN .
a A 192.0.2.1
$ORIGIN gov.vn.
$ORIGIN b          ; relative to the origin before
@ A 192.0.2.2
`).Records()
	if len(got) != 2 || got[0].Name != "a." || got[1].Name != "b.gov.vn." {
		t.Errorf("got %v", got)
	}
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("a", 64)
	for _, tc := range []struct{ text, want string }{
		{"a.gov.vn. MX 10\n", `1: MX needs a preference and a host`},
		{"\n; comment\na.gov.vn. MX 70000 mail.a.gov.vn.\n", `3: MX preference "70000" is not a number from 0 to 65535`},
		{"a.gov.vn. MX -1 mail.a.gov.vn.\n", `1: MX preference "-1" is not a number from 0 to 65535`},
		{"a.gov.vn. IN MXX 10 mail.a.gov.vn.\n", `1: unknown type MXX (supported: MX, TXT, A, AAAA, CNAME, SRV, PTR)`},
		{"a.gov.vn. 60 60 A 192.0.2.1\n", `1: unknown type 60 (supported: MX, TXT, A, AAAA, CNAME, SRV, PTR)`},
		{"mail A 192.0.2.1\n", `1: relative name "mail" but no $ORIGIN before it (write "mail." if it is absolute)`},
		{"a.gov.vn. MX 10 mail\n", `1: relative name "mail" but no $ORIGIN before it (write "mail." if it is absolute)`},
		{"@ A 192.0.2.1\n", `1: @ stands for $ORIGIN, but there is no $ORIGIN before it`},
		{"  A 192.0.2.1\n", `1: line starts with a blank (same owner as the record before) but there is no record before`},
		{"a. A 300.1.1.1\n", `1: A: "300.1.1.1" is not an IPv4 address`},
		{"a. A 2001:db8::1\n", `1: A: "2001:db8::1" is not an IPv4 address`},
		{"a. A 192.0.2.1 192.0.2.2\n", `1: A needs one address`},
		{"a. AAAA 192.0.2.1\n", `1: AAAA: "192.0.2.1" is not an IPv6 address`},
		{"a. AAAA fe80::1%eth0\n", `1: AAAA: "fe80::1%eth0" is not an IPv6 address`},
		{"a. CNAME\n", `1: CNAME needs one host name`},
		{"a. SRV 0 1 mail.\n", `1: SRV needs a priority, a weight, a port and a target`},
		{"a. SRV 0 1 99999 mail.\n", `1: SRV port "99999" is not a number from 0 to 65535`},
		{"a. SRV x 1 2 mail.\n", `1: SRV priority "x" is not a number from 0 to 65535`},
		{"a. TXT v=spf1 mx -all\n", `1: TXT word "v=spf1" must be quoted (with more than one word, quote the whole value)`},
		{"a. TXT \"v=spf1\" -all\n", `1: TXT word "-all" must be quoted (with more than one word, quote the whole value)`},
		{"a. TXT\n", `1: TXT needs a value`},
		{"a. TXT \"abc\n", `1: quoted string not closed on its line`},
		{"a. TXT \"abc\\\"", `1: quoted string not closed on its line`},
		{"a. TXT ( \"x\"\n\"y\"\n", `1: '(' not closed`},
		{"a. TXT \"x\" )\n", `1: ')' without '('`},
		{"a. TXT ( (\n", `1: '(' inside parentheses`},
		{`a. TXT "\256"`, `1: "\\256": \256 is not a byte value`},
		{`a. TXT "\12"`, `1: "\\12": \ and a digit must be \DDD, three digits`},
		{`a. TXT \`, `1: "\\" ends in a lone \`},
		{"a.\n", `1: record of a. has no type`},
		{"a. 3600 IN\n", `1: record of a. has no type`},
		{"a. \"TXT\" x\n", `1: record of a. has no type`},
		{"a. 99999999999 A 192.0.2.1\n", `1: TTL "99999999999" is not a number of seconds from 0 to 4294967295`},
		{"a. 1h A 192.0.2.1\n", `1: TTL "1h" is not a number of seconds from 0 to 4294967295`},
		{"a. CH TXT x\n", `1: class CH: only IN is supported`},
		{"$TTL 1h\n", `1: $TTL "1h" is not a number of seconds from 0 to 4294967295`},
		{"$TTL\n", `1: $TTL needs one number of seconds`},
		{"$INCLUDE other.zone\n", `1: unsupported directive $INCLUDE`},
		{"$ORIGIN a. b.\n", `1: $ORIGIN needs one name`},
		{"$ORIGIN gov.vn\n", `1: $ORIGIN: relative name "gov.vn" but no $ORIGIN before it (write "gov.vn." if it is absolute)`},
		{"a. CNAME b.\na. A 192.0.2.1\n", `2: a. has a CNAME and another record; a CNAME must be the only record of its name`},
		{"a. A 192.0.2.1\n  CNAME b.\n", `2: a. has a CNAME and another record; a CNAME must be the only record of its name`},
		{"a. CNAME b.\na. CNAME c.\n", `2: a. has a CNAME and another record; a CNAME must be the only record of its name`},
		{"a..b. A 192.0.2.1\n", `1: name "a..b." has an empty label`},
		{"*.a. A 192.0.2.1\n", `1: name "*.a.": '*' is not allowed in a name`},
		{"a.gov.vn. MX 10 mail\\.a.gov.vn.\n", `1: name "mail\\.a.gov.vn.": '\\' is not allowed in a name`},
		{"hà.vn. A 192.0.2.1\n", `1: name "hà.vn.": 'à' is not allowed in a name`},
		{long + ". A 192.0.2.1\n", `1: name "` + long + `." has a label longer than 63 characters`},
		{strings.Repeat("abcdefghi.", 26) + " A 192.0.2.1\n", `1: name "` + strings.Repeat("abcdefghi.", 26) + `" is longer than 253 characters`},
		{"\"a.\" A 192.0.2.1\n", `1: name "a." must not be quoted`},
		{"a. MX \"10\" b.\n", `1: MX data "10" must not be quoted`},
		{"a. TXT (\n\"x\"\n)\nb A 192.0.2.1\n", `4: relative name "b" but no $ORIGIN before it (write "b." if it is absolute)`},
	} {
		_, err := ParseZone(strings.NewReader(tc.text), "dns-records.zone")
		if want := "dns-records.zone:" + tc.want; err == nil || err.Error() != want {
			t.Errorf("%q:\n got %v\nwant %s", tc.text, err, want)
		}
	}
}

func TestLoadZone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dns-records.zone")
	if err := os.WriteFile(path, []byte("a.gov.vn. MX 10 mail.a.gov.vn.\nmail.a.gov.vn. A 192.0.2.300\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadZone(path); err == nil || err.Error() != path+`:2: A: "192.0.2.300" is not an IPv4 address` {
		t.Errorf("LoadZone: %v", err)
	}
	if err := os.WriteFile(path, []byte(sample), 0o600); err != nil {
		t.Fatal(err)
	}
	z, err := LoadZone(path)
	if err != nil || len(z.Records()) != len(sampleRecords) {
		t.Errorf("LoadZone = %v, %v", z, err)
	}
	if _, err := LoadZone(filepath.Join(t.TempDir(), "missing.zone")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzParseZone: whatever the input, ParseZone must not panic, and every record it returns must read back from its
// String() unchanged.
func FuzzParseZone(f *testing.F) {
	for _, seed := range []string{
		sample,
		strings.ReplaceAll(sample, "\n", "\r\n"),
		"$ORIGIN .\n@ TXT \"\\000\\255\\\"\" \"\" ( x\n)\n",
		"a. TXT \"" + strings.Repeat("é", 200) + "\"\n  MX 0 .\n",
		"a. 0 in srv 0 0 0 .\n",
		"a. A 1.2.3.4 ; (\n\"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		z, err := ParseZone(strings.NewReader(text), "fuzz.zone")
		if err != nil {
			return
		}
		for _, r := range z.Records() {
			back, err := ParseZone(strings.NewReader(r.String()), "string")
			if err != nil {
				t.Fatalf("%#v\n%s\ndoes not parse: %v", r, r, err)
			}
			if got := back.Records(); len(got) != 1 || got[0] != r {
				t.Fatalf("%#v\n%s\nparses to %#v", r, r, got)
			}
		}
	})
}
