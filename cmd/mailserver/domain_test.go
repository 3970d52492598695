package main

import (
	"strings"
	"testing"
	"time"

	"mailserver/internal/dns"
)

// domain dns prints zone-file lines that a records file accepts as they are, with a DKIM record per key.
func TestDomainDNS(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain, "--ed25519")
	out := e.ok("", "domain", "dns", "VinhYen.gov.vn.")
	zone, err := dns.ParseZone(strings.NewReader(out), "domain dns")
	if err != nil {
		t.Fatalf("domain dns output does not parse as a zone file: %v\n%s", err, out)
	}
	month := time.Now().UTC().Format("200601")
	host := "mail.vinhyen.gov.vn." // the newEnv configuration's hostname
	for _, want := range []struct{ name, typ, data string }{
		{domain + ".", "MX", "10 " + host},
		{domain + ".", "TXT", "v=spf1 mx -all"},
		{"_dmarc." + domain + ".", "TXT", "v=DMARC1; p=reject"},
		{"rsa-" + month + "._domainkey." + domain + ".", "TXT", "v=DKIM1; k=rsa; p="},
		{"ed-" + month + "._domainkey." + domain + ".", "TXT", "v=DKIM1; k=ed25519; p="},
		{"_submissions._tcp." + domain + ".", "SRV", "0 1 "},
		{"autoconfig." + domain + ".", "CNAME", host},
	} {
		recs := zone.Lookup(want.name, want.typ)
		if len(recs) != 1 || !strings.HasPrefix(recs[0].Data, want.data) {
			t.Errorf("%s %s = %v, want one starting %q\n%s", want.name, want.typ, recs, want.data, out)
		}
	}
	if rsa := zone.Lookup("rsa-"+month+"._domainkey."+domain, "TXT"); len(rsa) == 1 && len(rsa[0].Data) < 350 {
		t.Errorf("RSA record %d bytes: want a 2048-bit key", len(rsa[0].Data))
	}

	// A second RSA key this month gets its own selector, printed at once and listed by domain dns.
	out = e.ok("", "domain", "dkim", domain)
	if !strings.Contains(out, "rsa-"+month+"b._domainkey."+domain+". IN TXT \"v=DKIM1; k=rsa; p=") {
		t.Errorf("domain dkim: %q", out)
	}
	if out := e.ok("", "domain", "dns", domain); !strings.Contains(out, "rsa-"+month+"b._domainkey") {
		t.Errorf("the new key is missing from domain dns:\n%s", out)
	}
	e.fails(1, `unknown DKIM algorithm "dsa": use rsa or ed25519`, "", "domain", "dkim", domain, "--algorithm", "dsa")
	e.fails(1, "domain other.gov.vn does not exist: see 'mailserver domain list'", "", "domain", "dns", "other.gov.vn")
}
