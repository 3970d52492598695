package admin_test

import (
	"strings"
	"testing"

	"mailserver/internal/admin"
	"mailserver/internal/dns"
)

// SPF names the smarthost mail leaves through, as a name or an address, with a comment just before it; without
// a smarthost it stays "mx" alone.
func TestDomainRecordsSPF(t *testing.T) {
	for _, tc := range []struct{ smarthost, spf string }{
		{"", "v=spf1 mx -all"},
		{"relay.vinhphuc.gov.vn", "v=spf1 mx a:relay.vinhphuc.gov.vn -all"},
		{"relay.vinhphuc.gov.vn.", "v=spf1 mx a:relay.vinhphuc.gov.vn -all"},
		{"203.0.113.7", "v=spf1 mx ip4:203.0.113.7 -all"},
		{"::ffff:203.0.113.7", "v=spf1 mx ip4:203.0.113.7 -all"},
		{"2001:db8::25", "v=spf1 mx ip6:2001:db8::25 -all"},
	} {
		out := admin.FormatDomainRecords("vinhyen.gov.vn", admin.MailHost{Hostname: "mail.vinhyen.gov.vn",
			Smarthost: tc.smarthost}, nil)
		zone := parseZone(t, out)
		if recs := zone.Lookup("vinhyen.gov.vn", "TXT"); len(recs) != 1 || recs[0].Data != tc.spf {
			t.Errorf("smarthost %q: SPF %v, want %q", tc.smarthost, recs, tc.spf)
		}
		before, _, _ := strings.Cut(out, `vinhyen.gov.vn. IN TXT "v=spf1`)
		noted := strings.Contains(before, "; Mail leaves through the smarthost "+strings.TrimSuffix(tc.smarthost, ".")+", which SPF lets send it.")
		if noted != (tc.smarthost != "") || strings.Contains(before, "smarthost") != noted {
			t.Errorf("smarthost %q: comment before the SPF record is wrong:\n%s", tc.smarthost, out)
		}
	}
}

// A service without a port (no listener, or a loopback-only one) is published as not offered (RFC 6186: target
// "."), with a comment saying how to offer it; the autoconfig names stay.
func TestDomainRecordsServicesNotOffered(t *testing.T) {
	host := admin.MailHost{Hostname: "mail.vinhyen.gov.vn", Submissions: 465, IMAPS: 993}
	out := admin.FormatDomainRecords("vinhyen.gov.vn", host, nil)
	zone := parseZone(t, out)
	for name, want := range map[string]string{
		"_submission._tcp.vinhyen.gov.vn":   "0 0 0 .",
		"_submissions._tcp.vinhyen.gov.vn":  "0 1 465 mail.vinhyen.gov.vn.",
		"_imap._tcp.vinhyen.gov.vn":         "0 0 0 .",
		"_imaps._tcp.vinhyen.gov.vn":        "0 1 993 mail.vinhyen.gov.vn.",
		"_autodiscover._tcp.vinhyen.gov.vn": "0 0 0 .",
	} {
		if recs := zone.Lookup(name, "SRV"); len(recs) != 1 || recs[0].Data != want {
			t.Errorf("%s SRV = %v, want %q", name, recs, want)
		}
	}
	if !strings.Contains(out, "; SRV records with target \".\" tell mail clients the service is not offered") {
		t.Errorf("no comment explains the records with target \".\":\n%s", out)
	}
	for _, name := range []string{"autoconfig.vinhyen.gov.vn", "autodiscover.vinhyen.gov.vn"} {
		if recs := zone.Lookup(name, "CNAME"); len(recs) != 1 {
			t.Errorf("%s CNAME = %v, want it kept", name, recs)
		}
	}

	host.Submission, host.IMAP, host.HTTPS = 587, 143, 443
	if out := admin.FormatDomainRecords("vinhyen.gov.vn", host, nil); strings.Contains(out, "0 0 0 .") ||
		strings.Contains(out, "not offered") {
		t.Errorf("every service has a port, yet some is said not to be offered:\n%s", out)
	}
}

func parseZone(t *testing.T, out string) *dns.Zone {
	t.Helper()
	zone, err := dns.ParseZone(strings.NewReader(out), "domain dns")
	if err != nil {
		t.Fatalf("the records do not parse as a zone file: %v\n%s", err, out)
	}
	return zone
}
