package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"mailserver/internal/dns"
)

// domain dns prints zone-file lines that a records file accepts as they are, with a DKIM record per key. The
// test configuration's listeners are the embedded loopback ones, which no client elsewhere reaches: their SRV
// records say the services are not offered.
func TestDomainDNS(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain, "--ed25519")
	out := e.ok("", "domain", "dns", "VinhYen.gov.vn.")
	zone := parseZone(t, out)
	month := time.Now().UTC().Format("200601")
	rsaSel, edSel := selector(t, out, "rsa-"+month), selector(t, out, "ed-"+month)
	host := "mail.vinhyen.gov.vn." // the newEnv configuration's hostname
	for _, want := range []struct{ name, typ, data string }{
		{domain + ".", "MX", "10 " + host},
		{domain + ".", "TXT", "v=spf1 mx -all"},
		{"_dmarc." + domain + ".", "TXT", "v=DMARC1; p=reject"},
		{rsaSel + "._domainkey." + domain + ".", "TXT", "v=DKIM1; k=rsa; p="},
		{edSel + "._domainkey." + domain + ".", "TXT", "v=DKIM1; k=ed25519; p="},
		{"_submission._tcp." + domain + ".", "SRV", "0 0 0 ."},
		{"_submissions._tcp." + domain + ".", "SRV", "0 0 0 ."},
		{"_imaps._tcp." + domain + ".", "SRV", "0 0 0 ."},
		{"autoconfig." + domain + ".", "CNAME", host},
	} {
		recs := zone.Lookup(want.name, want.typ)
		if len(recs) != 1 || !strings.HasPrefix(recs[0].Data, want.data) {
			t.Errorf("%s %s = %v, want one starting %q\n%s", want.name, want.typ, recs, want.data, out)
		}
	}
	if rsa := zone.Lookup(rsaSel+"._domainkey."+domain, "TXT"); len(rsa) == 1 && len(rsa[0].Data) < 350 {
		t.Errorf("RSA record %d bytes: want a 2048-bit key", len(rsa[0].Data))
	}
	if strings.Contains(out, "smarthost") {
		t.Errorf("no smarthost is configured, yet domain dns mentions one:\n%s", out)
	}

	// A second RSA key this month gets its own selector, printed at once and listed by domain dns.
	out = e.ok("", "domain", "dkim", domain)
	newSel := selector(t, out, "rsa-"+month)
	if newSel == rsaSel || !strings.Contains(out, newSel+"._domainkey."+domain+". IN TXT \"v=DKIM1; k=rsa; p=") {
		t.Errorf("domain dkim (first key %s): %q", rsaSel, out)
	}
	if out := e.ok("", "domain", "dns", domain); !strings.Contains(out, newSel+"._domainkey") {
		t.Errorf("the new key is missing from domain dns:\n%s", out)
	}
	e.fails(1, `unknown DKIM algorithm "dsa": use rsa or ed25519`, "", "domain", "dkim", domain, "--algorithm", "dsa")
	e.fails(1, "domain other.gov.vn does not exist: see 'mailserver domain list'", "", "domain", "dns", "other.gov.vn")
}

// A rotation ends with 'domain dkim --remove': the old key no longer signs nor is printed, and the last key stays.
func TestDomainDKIMRemove(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain, "--ed25519")
	month := time.Now().UTC().Format("200601")
	out := e.ok("", "domain", "dns", domain)
	oldSel, edSel := selector(t, out, "rsa-"+month), selector(t, out, "ed-"+month)
	newSel := selector(t, e.ok("", "domain", "dkim", domain), "rsa-"+month)

	out = e.ok("", "domain", "dkim", domain, "--remove", strings.ToUpper(oldSel))
	if want := "removed DKIM key " + oldSel + " of " + domain + ": mail is no longer signed with it. Delete its DNS record " +
		oldSel + "._domainkey." + domain + " in a few days, once mail signed with it has arrived.\n"; out != want {
		t.Errorf("domain dkim --remove:\n got: %q\nwant: %q", out, want)
	}
	out = e.ok("", "domain", "dns", domain)
	if strings.Contains(out, oldSel) || !strings.Contains(out, newSel) || !strings.Contains(out, edSel) {
		t.Errorf("after retiring %s, domain dns prints:\n%s", oldSel, out)
	}
	e.fails(1, "domain "+domain+" has no DKIM key \""+oldSel+"\": its keys are the selectors in 'mailserver domain dns "+
		domain+"'", "", "domain", "dkim", domain, "--remove", oldSel)
	e.ok("", "domain", "dkim", domain, "--remove", edSel)
	e.fails(1, newSel+" is the last DKIM key of "+domain+": make its successor first with 'mailserver domain dkim "+
		domain+"', publish its record, then remove this one", "", "domain", "dkim", domain, "--remove", newSel)
	e.fails(2, "give either --algorithm (to make a key) or --remove (to retire one), not both (see 'mailserver domain dkim --help')",
		"", "domain", "dkim", domain, "--remove", newSel, "--algorithm", "rsa")
}

// With public listeners and a smarthost: SRV records point at the public ports, the unset submission listener is
// not offered, and SPF lets the smarthost send, with a comment saying so.
func TestDomainDNSPublicListenersAndSmarthost(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ smarthost, spf string }{
		{"relay.vinhphuc.gov.vn:587", "v=spf1 mx a:relay.vinhphuc.gov.vn -all"},
		{"203.0.113.7:25", "v=spf1 mx ip4:203.0.113.7 -all"},
		{"[2001:db8::25]:25", "v=spf1 mx ip6:2001:db8::25 -all"},
	} {
		appendConfig(t, e, "[smtp]\nsubmission = \"\"\nsubmissions = \":465\"\n[imap]\nlisten = \"[::1]:143\"\n"+
			"listen_tls = \"0.0.0.0:993\"\n[http]\nlisten_tls = \"localhost:443\"\n[smarthost]\nhost = \""+tc.smarthost+"\"\n")
		if tc.smarthost == "relay.vinhphuc.gov.vn:587" {
			e.ok("", "domain", "add", domain)
		}
		out := e.ok("", "domain", "dns", domain)
		zone := parseZone(t, out)
		for _, want := range []struct{ name, typ, data string }{
			{domain + ".", "TXT", tc.spf},
			{"_submission._tcp." + domain + ".", "SRV", "0 0 0 ."},
			{"_submissions._tcp." + domain + ".", "SRV", "0 1 465 mail.vinhyen.gov.vn."},
			{"_imap._tcp." + domain + ".", "SRV", "0 0 0 ."},
			{"_imaps._tcp." + domain + ".", "SRV", "0 1 993 mail.vinhyen.gov.vn."},
			{"_autodiscover._tcp." + domain + ".", "SRV", "0 0 0 ."},
		} {
			if recs := zone.Lookup(want.name, want.typ); len(recs) != 1 || recs[0].Data != want.data {
				t.Errorf("smarthost %s: %s %s = %v, want %q\n%s", tc.smarthost, want.name, want.typ, recs, want.data, out)
			}
		}
		spfLine := domain + `. IN TXT "` + tc.spf + `"`
		if i := strings.Index(out, spfLine); i < 0 || !strings.Contains(lastLines(out[:i], 3), "; Mail leaves through the smarthost") {
			t.Errorf("smarthost %s: no comment about it just before the SPF record:\n%s", tc.smarthost, out)
		}
	}
}

// appendConfig rewrites the env's configuration file as the newEnv one followed by extra.
func appendConfig(t *testing.T, e *env, extra string) {
	t.Helper()
	base := "data_dir = \"data\"\nhostname = \"mail.vinhyen.gov.vn\"\n"
	if err := os.WriteFile(e.config, []byte(base+extra), 0o600); err != nil {
		t.Fatal(err)
	}
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func parseZone(t *testing.T, out string) *dns.Zone {
	t.Helper()
	zone, err := dns.ParseZone(strings.NewReader(out), "domain dns")
	if err != nil {
		t.Fatalf("domain dns output does not parse as a zone file: %v\n%s", err, out)
	}
	return zone
}

// selector finds the one selector base-xxxx (4 random hex digits) that out names, maybe several times.
func selector(t *testing.T, out, base string) string {
	t.Helper()
	found := slices.Compact(regexp.MustCompile(`\b`+regexp.QuoteMeta(base)+`-[0-9a-f]{4}\b`).FindAllString(out, -1))
	if len(found) != 1 {
		t.Fatalf("want one selector %s-xxxx, found %v in:\n%s", base, found, out)
	}
	return found[0]
}
