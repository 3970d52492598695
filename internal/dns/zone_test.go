package dns

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRecordString(t *testing.T) {
	for _, tc := range []struct {
		r    Record
		want string
	}{
		{MX("a.gov.vn", 10, "mail.a.gov.vn"), `a.gov.vn. IN MX 10 mail.a.gov.vn.`},
		{MX("A.Gov.VN.", 0, "."), `a.gov.vn. IN MX 0 .`},
		{TXT("a.gov.vn", "v=spf1 mx -all"), `a.gov.vn. IN TXT "v=spf1 mx -all"`},
		{TXT("x.a.gov.vn", `say "hi" \ bye`), `x.a.gov.vn. IN TXT "say \"hi\" \\ bye"`},
		{TXT("x.a.gov.vn", "tab\there\x00\x7f"), `x.a.gov.vn. IN TXT "tab\009here\000\127"`},
		{TXT("x.a.gov.vn", "Hà Nội \xff"), `x.a.gov.vn. IN TXT "Hà Nội \255"`},
		{TXT("x.a.gov.vn", ""), `x.a.gov.vn. IN TXT ""`},
		{SRV("_submission._tcp.a.gov.vn", 0, 1, 587, "mail.a.gov.vn"), `_submission._tcp.a.gov.vn. IN SRV 0 1 587 mail.a.gov.vn.`},
		{CNAME("autoconfig.a.gov.vn", "mail.a.gov.vn"), `autoconfig.a.gov.vn. IN CNAME mail.a.gov.vn.`},
		{Address("mail.a.gov.vn", netip.MustParseAddr("192.0.2.25")), `mail.a.gov.vn. IN A 192.0.2.25`},
		{Address("mail.a.gov.vn", netip.MustParseAddr("2001:DB8::25")), `mail.a.gov.vn. IN AAAA 2001:db8::25`},
		{PTR(netip.MustParseAddr("192.0.2.25"), "mail.a.gov.vn"), `25.2.0.192.in-addr.arpa. IN PTR mail.a.gov.vn.`},
		{PTR(netip.MustParseAddr("::ffff:192.0.2.25"), "mail.a.gov.vn"), `25.2.0.192.in-addr.arpa. IN PTR mail.a.gov.vn.`},
		{PTR(netip.MustParseAddr("2001:db8::2:25"), "mail.a.gov.vn"),
			`5.2.0.0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. IN PTR mail.a.gov.vn.`},
		{Record{Name: "a.gov.vn.", TTL: 3600, Type: "MX", Data: "10 mail.a.gov.vn."}, `a.gov.vn. 3600 IN MX 10 mail.a.gov.vn.`},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("%#v.String()\n got %s\nwant %s", tc.r, got, tc.want)
		}
	}
}

// quotedStrings returns the contents of the quoted strings on a TXT line String wrote, escapes left in.
func quotedStrings(t *testing.T, line string) []string {
	t.Helper()
	_, data, ok := strings.Cut(line, " IN TXT ")
	if !ok {
		t.Fatalf("not a TXT line: %s", line)
	}
	var out []string
	for data != "" {
		if data[0] != '"' {
			t.Fatalf("unquoted data in %s", line)
		}
		end := 1
		for ; data[end] != '"'; end++ {
			if data[end] == '\\' {
				end++
			}
		}
		out = append(out, data[1:end])
		data = strings.TrimPrefix(data[end+1:], " ")
	}
	return out
}

func TestTXTSplitsAt255Bytes(t *testing.T) {
	key := "v=DKIM1; k=rsa; p=" + strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 9) // a 2048-bit key is ~400
	for _, tc := range []struct {
		value string
		sizes []int
	}{
		{strings.Repeat("a", 255), []int{255}},
		{strings.Repeat("a", 256), []int{255, 1}},
		{strings.Repeat("a", 510), []int{255, 255}},
		{strings.Repeat("a", 511), []int{255, 255, 1}},
		{key, []int{255, len(key) - 255}},
		// 2-byte characters: the first string ends before the one that would straddle byte 255.
		{strings.Repeat("ệ", 100), []int{255, 45}},
		{strings.Repeat("é", 200), []int{254, 146}},
	} {
		r := TXT("rsa-202611._domainkey.a.gov.vn", tc.value)
		parts := quotedStrings(t, r.String())
		var sizes []int
		for _, p := range parts {
			sizes = append(sizes, len(p))
			if !utf8.ValidString(p) {
				t.Errorf("string %q splits a character", p)
			}
		}
		if !slices.Equal(sizes, tc.sizes) {
			t.Errorf("value of %d bytes: strings of %v bytes, want %v", len(tc.value), sizes, tc.sizes)
		}
		if strings.Join(parts, "") != tc.value {
			t.Errorf("strings %q do not join to the value", parts)
		}
		if got := reparse(t, r); got != r {
			t.Errorf("round trip of %d bytes: got %q", len(tc.value), got.Data)
		}
	}
}

// TestTXTSplitsEscapedBytes counts the 255 bytes of a string before escaping: 200 quotes take 400 characters of the
// line but are 200 bytes of the value.
func TestTXTSplitsEscapedBytes(t *testing.T) {
	r := TXT("x.a.gov.vn", strings.Repeat(`"`, 300))
	parts := quotedStrings(t, r.String())
	if len(parts) != 2 || parts[0] != strings.Repeat(`\"`, 255) || parts[1] != strings.Repeat(`\"`, 45) {
		t.Errorf("got %s", r.String())
	}
	if got := reparse(t, r); got != r {
		t.Errorf("round trip: got %q", got.Data)
	}
}

// reparse parses r.String() alone.
func reparse(t *testing.T, r Record) Record {
	t.Helper()
	z, err := ParseZone(strings.NewReader(r.String()), "record")
	if err != nil {
		t.Fatalf("%s: %v", r, err)
	}
	records := z.Records()
	if len(records) != 1 {
		t.Fatalf("%s parses to %d records", r, len(records))
	}
	return records[0]
}

func TestRoundTrip(t *testing.T) {
	records := []Record{
		MX("a.gov.vn", 10, "mail.a.gov.vn"),
		MX("a.gov.vn", 65535, "backup.a.gov.vn"),
		MX("nomail.a.gov.vn", 0, "."),
		TXT("a.gov.vn", "v=spf1 mx ip4:192.0.2.0/24 -all"),
		TXT("rsa-202611._domainkey.a.gov.vn", "v=DKIM1; k=rsa; p="+strings.Repeat("QUJD", 100)),
		TXT("_dmarc.a.gov.vn", `v=DMARC1; p=reject; rua=mailto:"dmarc"@a.gov.vn \ \\`),
		TXT("vi.a.gov.vn", strings.Repeat("Ủy ban nhân dân tỉnh Vĩnh Phúc; ", 20)),
		TXT("bytes.a.gov.vn", "\x00\x01\n\r\t\x7f\x80\xfe\xff ;()$@"),
		TXT("empty.a.gov.vn", ""),
		SRV("_submission._tcp.a.gov.vn", 0, 1, 587, "mail.a.gov.vn"),
		SRV("_imaps._tcp.a.gov.vn", 65535, 65535, 65535, "mail.a.gov.vn"),
		CNAME("autoconfig.a.gov.vn", "mail.a.gov.vn"),
		Address("mail.a.gov.vn", netip.MustParseAddr("192.0.2.25")),
		Address("mail.a.gov.vn", netip.MustParseAddr("2001:db8::25")),
		Address("mapped.a.gov.vn", netip.MustParseAddr("::ffff:192.0.2.25")),
		PTR(netip.MustParseAddr("192.0.2.25"), "mail.a.gov.vn"),
		PTR(netip.MustParseAddr("2001:db8::25"), "mail.a.gov.vn"),
		{Name: "ttl.a.gov.vn.", TTL: 4294967295, Type: "A", Data: "192.0.2.1"},
		{Name: "0/25.2.0.192.in-addr.arpa.", TTL: 60, Type: "PTR", Data: "classless.a.gov.vn."},
		{Name: ".", Type: "TXT", Data: "root"},
	}
	var file strings.Builder
	for _, r := range records {
		file.WriteString(r.String() + "\n")
	}
	z, err := ParseZone(strings.NewReader(file.String()), "roundtrip.zone")
	if err != nil {
		t.Fatalf("%v\n%s", err, file.String())
	}
	got := z.Records()
	if len(got) != len(records) {
		t.Fatalf("%d records, want %d", len(got), len(records))
	}
	for i := range got {
		if got[i] != records[i] {
			t.Errorf("record %d:\n got %#v\nwant %#v", i, got[i], records[i])
		}
	}
}

func TestZoneLookup(t *testing.T) {
	z := mustParse(t, `
$ORIGIN a.gov.vn.
@     MX  20 mx2
@     MX  10 mx1
@     TXT "v=spf1 mx -all"
mail  A   192.0.2.25
`)
	if got := z.Lookup("A.GOV.VN", "mx"); len(got) != 2 || got[0].Data != "20 mx2.a.gov.vn." || got[1].Data != "10 mx1.a.gov.vn." {
		t.Errorf("Lookup MX = %v, want both MX in file order", got)
	}
	if got := z.Lookup("a.gov.vn.", "A"); got != nil {
		t.Errorf("Lookup A = %v, want none", got)
	}
	if !z.Has("Mail.A.Gov.Vn") || z.Has("a.gov.vn.example.") || z.Has("gov.vn") {
		t.Error("Has answers wrongly")
	}
	records := z.Records()
	records[0].Data = "changed"
	if z.Records()[0].Data == "changed" {
		t.Error("Records returns the zone's own slice")
	}
	var none *Zone
	if none.Has("a.gov.vn") || none.Lookup("a.gov.vn", "MX") != nil || none.Records() != nil {
		t.Error("a nil zone is not empty")
	}
}
