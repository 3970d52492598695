package dns

import (
	"os"
	"path/filepath"
	"slices"
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
	relative := func(field, name string) string {
		return field + `: relative name "` + name + `" but no $ORIGIN before it (write "` + name + `." if it is absolute)`
	}
	const cnameAlone = "a. has a CNAME and another record; a CNAME must be the only record of its name"
	for _, tc := range []struct{ text, want string }{
		{"a.gov.vn. MX 10\n", `1: MX host is missing`},
		{"\n; comment\na.gov.vn. MX 70000 mail.a.gov.vn.\n", `3: MX preference is not a number from 0 to 65535: "70000"`},
		{"a.gov.vn. MX -1 mail.a.gov.vn.\n", `1: MX preference is not a number from 0 to 65535: "-1"`},
		{"a.gov.vn. IN MXX 10 mail.a.gov.vn.\n", `1: not a known record type, nor a TTL (seconds, or units as in 1h30m): "MXX"`},
		{"a.gov.vn. 60 60 A 192.0.2.1\n", `1: expected a record type or class: "60"`},
		{"a. NS ns.a.\n", `1: unsupported type NS (supported: MX, TXT, A, AAAA, CNAME, SRV, PTR)`},
		{"a. SOA ns.a. root.a. 1 2 3 4 5\n", `1: unsupported type SOA (supported: MX, TXT, A, AAAA, CNAME, SRV, PTR)`},
		{"mail A 192.0.2.1\n", `1: ` + relative("owner", "mail")},
		{"a.gov.vn. MX 10 mail\n", `1: ` + relative("MX host", "mail")},
		{"a. CNAME mail\n", `1: ` + relative("CNAME target", "mail")},
		{"a. SRV 0 1 587 mail\n", `1: ` + relative("SRV target", "mail")},
		{"a. PTR mail\n", `1: ` + relative("PTR host", "mail")},
		{"@ A 192.0.2.1\n", `1: owner: @ stands for $ORIGIN, but there is no $ORIGIN before it`},
		{"  A 192.0.2.1\n", `1: line starts with a blank (same owner as the record before) but there is no record before`},
		{"a. A 300.1.1.1\n", `1: A needs one IPv4 address: "300.1.1.1"`},
		{"a. A 2001:db8::1\n", `1: A needs one IPv4 address: "2001:db8::1"`},
		{"a. A 192.0.2.1 192.0.2.2\n", `1: more on the line than the record or directive takes: "192.0.2.2"`},
		{"a. AAAA 192.0.2.1\n", `1: AAAA needs one IPv6 address: "192.0.2.1"`},
		{"a. AAAA fe80::1%eth0\n", `1: AAAA needs one IPv6 address: "fe80::1%eth0"`},
		{"a. A\n", `1: A needs an IPv4 address`},
		{"a. AAAA\n", `1: AAAA needs an IPv6 address`},
		{"a. A\nb. A 192.0.2.1\n", `1: the record has no data`},
		{"a. CNAME\n", `1: CNAME has no host name`},
		{"a. PTR\n", `1: PTR has no host name`},
		{"a. SRV 0 1 mail.\n", `1: SRV port is not a number from 0 to 65535: "mail."`},
		{"a. SRV 0 1 99999 mail.\n", `1: SRV port is not a number from 0 to 65535: "99999"`},
		{"a. SRV x 1 2 mail.\n", `1: SRV priority is not a number from 0 to 65535: "x"`},
		// Unquoted words are separate strings, joined without blanks: an SPF record would silently be none.
		{"a. TXT v=spf1 mx -all\n", `1: TXT strings join to "v=spf1mx-all", which is no SPF record (RFC 7208 4.5): quote a value of several words as one string`},
		{"a. TXT \"v=spf1\" -all\n", `1: TXT strings join to "v=spf1-all", which is no SPF record (RFC 7208 4.5): quote a value of several words as one string`},
		{"a. TXT\n", `1: TXT needs a value`},
		{"a. TXT \"abc\n", `1: TXT value is not quoted strings or words (a quote not closed?)`},
		{"a. TXT \"abc\\\"", `1: TXT value is not quoted strings or words (a quote not closed?)`},
		{"a. TXT ( \"x\"\n\"y\"\n", `2: '(' not closed`},
		{"a. TXT \"x\" )\n", `1: ')' without '('`},
		{`a. TXT "\256"`, `1: "\\256": \256 is not a byte value`},
		{`a. TXT "\12"`, `1: "\\12": \ and a digit must be \DDD, three digits`},
		{`a. TXT \`, `1: TXT value is not quoted strings or words (a quote not closed?): "\\"`},
		{"a.\n", `1: not a known record type, nor a TTL (seconds, or units as in 1h30m): "a."`},
		{"a. 3600 IN\n", `1: expected a record type or class: "IN"`},
		{"a. \"TXT\" x\n", `1: expected a record type, TTL or class: "\""`},
		{"a. 99999999999 A 192.0.2.1\n", `1: not a known record type, nor a TTL (seconds, or units as in 1h30m): "99999999999"`},
		{"a. 1x A 192.0.2.1\n", `1: not a known record type, nor a TTL (seconds, or units as in 1h30m): "1x"`},
		{"a. CH TXT x\n", `1: class CH: only IN is supported`},
		{"$TTL 1x\n", `1: $TTL is not a number of seconds (or units as in 1h30m): "1x"`},
		{"$INCLUDE other.zone\n", `1: $INCLUDE is not supported: put the records in this file: "other.zone"`},
		{"$ORIGIN a. b.\n", `1: more on the line than the record or directive takes: "b."`},
		{"$ORIGIN gov.vn\n", `1: ` + relative("$ORIGIN", "gov.vn")},
		{"a. CNAME b.\na. A 192.0.2.1\n", `2: ` + cnameAlone},
		{"a. A 192.0.2.1\n  CNAME b.\n", `2: ` + cnameAlone},
		{"a. CNAME b.\na. CNAME c.\n", `2: ` + cnameAlone},
		{"a. TXT (\n\"x\"\n)\na. CNAME b.\n", `4: ` + cnameAlone},
		{"a..b. A 192.0.2.1\n", `1: owner: name "a..b." has an empty label`},
		{"*.a. A 192.0.2.1\n", `1: name "*.a.": '*' is not allowed in a name`},
		{"a.gov.vn. MX 10 mail\\.a.gov.vn.\n", `1: name "mail\\.a.gov.vn.": '\\' is not allowed in a name`},
		{"hà.vn. A 192.0.2.1\n", `1: name "hà.vn.": 'à' is not allowed in a name`},
		{long + ". A 192.0.2.1\n", `1: owner: name "` + long + `." has a label longer than 63 characters`},
		{strings.Repeat("abcdefghi.", 26) + " A 192.0.2.1\n", `1: owner: name "` + strings.Repeat("abcdefghi.", 26) + `" is longer than 253 characters`},
		{"\"a.\" A 192.0.2.1\n", `1: a line must start with a name, a blank or a directive: "\""`},
		{"a. MX \"10\" b.\n", `1: MX preference is not a number from 0 to 65535: "\""`},
		{"a. TXT (\n\"x\"\n)\nb A 192.0.2.1\n", `4: ` + relative("owner", "b")},
		// Errors in the records a $GENERATE line writes are on that line.
		{"a. A 192.0.2.1\n$GENERATE 1-3 $.a. PTR host\n", `2: ` + relative("PTR host", "host")},
		{"a. A 192.0.2.1\n$GENERATE 250-260 x$. A 192.0.2.$\n", `2: A needs one IPv4 address: "192.0.2.256"`},
	} {
		_, err := ParseZone(strings.NewReader(tc.text), "dns-records.zone")
		if want := "dns-records.zone:" + tc.want; err == nil || err.Error() != want {
			t.Errorf("%q:\n got %v\nwant %s", tc.text, err, want)
		}
	}
}

func TestParseRecordLimit(t *testing.T) {
	defer func(n int) { maxRecords = n }(maxRecords)
	maxRecords = 10
	if _, err := ParseZone(strings.NewReader("$GENERATE 1-10 x$. A 192.0.2.1\n"), "ten.zone"); err != nil {
		t.Errorf("10 records: %v", err)
	}
	_, err := ParseZone(strings.NewReader("a. A 192.0.2.1\n$GENERATE 1-10 x$. A 192.0.2.1\n"), "eleven.zone")
	if want := "eleven.zone:2: more than 10 records"; err == nil || err.Error() != want {
		t.Errorf("11 records: %v, want %s", err, want)
	}
}

// TestParseTTLUnits: TTLs may be written in units, as BIND zone files do.
func TestParseTTLUnits(t *testing.T) {
	got := mustParse(t, "$TTL 1h\na. A 192.0.2.1\nb. 1d2h3m4s A 192.0.2.2\nc. 1W TXT x\n").Records()
	if len(got) != 3 || got[0].TTL != 3600 || got[1].TTL != 93784 || got[2].TTL != 604800 {
		t.Errorf("got %v", got)
	}
}

// TestParseGenerate: $GENERATE writes a run of records, such as the PTR records of a range of addresses. (Its
// records have TTL 3600 unless it gives one, whatever $TTL says: the library's choice.)
func TestParseGenerate(t *testing.T) {
	z := mustParse(t, "$ORIGIN 2.0.192.in-addr.arpa.\n$GENERATE 10-12 $ 0 PTR host-$.a.gov.vn.\n")
	var got []string
	for _, r := range z.Records() {
		got = append(got, r.String())
	}
	want := []string{
		"10.2.0.192.in-addr.arpa. IN PTR host-10.a.gov.vn.",
		"11.2.0.192.in-addr.arpa. IN PTR host-11.a.gov.vn.",
		"12.2.0.192.in-addr.arpa. IN PTR host-12.a.gov.vn.",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q", got)
	}
}

func TestLoadZone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dns-records.zone")
	if err := os.WriteFile(path, []byte("a.gov.vn. MX 10 mail.a.gov.vn.\nmail.a.gov.vn. A 192.0.2.300\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadZone(path); err == nil || err.Error() != path+`:2: A needs one IPv4 address: "192.0.2.300"` {
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

// FuzzLoadZone: whatever the text of a records file, reading it (ParseZone, which LoadZone runs on the file) must
// not panic, and every record it returns must read back from its String() unchanged.
func FuzzLoadZone(f *testing.F) {
	for _, seed := range []string{
		sample,
		strings.ReplaceAll(sample, "\n", "\r\n"),
		"$ORIGIN .\n@ TXT \"\\000\\255\\\"\" \"\" ( x\n)\n",
		"a. TXT \"" + strings.Repeat("é", 200) + "\"\n  MX 0 .\n",
		"a. 0 in srv 0 0 0 .\n",
		"a. A 1.2.3.4 ; (\n\"",
		"$TTL 1h\n$ORIGIN a.gov.vn.\n@ 1d IN MX 10 mail\nmail A 192.0.2.1\n  AAAA ::ffff:192.0.2.1\n",
		"$ORIGIN 2.0.192.in-addr.arpa.\n$GENERATE 1-4/2 $ PTR host-${0,3,x}.a.\n",
		"a. TXT v=spf1 mx -all\nb. TXT \"v=spf1\" \" -all\"\n",
		"a. CNAME b.\na. A 192.0.2.1\n",
		"a. TYPE1 \\# 4 c0000201\nb. CLASS1 A 192.0.2.2\n",
		"$INCLUDE /etc/passwd\n",
		"a. A\nb. MX\n",
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
