package admin

import (
	"strings"

	"mailserver/internal/dns"
)

// MailHost is the server as other servers and mail clients reach it, for DomainRecords.
type MailHost struct {
	Hostname string // the MX host and the target of the client records
	// Ports clients connect to; 0 leaves the record out.
	Submission, Submissions, IMAP, IMAPS, HTTPS int
}

// DomainRecords lists every DNS record a domain served here needs:
//   - MX: other servers deliver its mail to this host;
//   - SPF "v=spf1 mx -all": only this host sends its mail;
//   - one DKIM record per signing key;
//   - DMARC p=reject: receivers refuse mail that claims the domain without passing SPF or DKIM aligned with it,
//     which is what stops forged official mail (no reports are asked for, since nothing here reads them);
//   - SRV records (RFC 6186, RFC 8314) and the autoconfig/autodiscover names, so that mail clients find the
//     server from an address alone.
//
// The host name itself needs A/AAAA records with the server's public address, which only the operator knows.
func DomainRecords(domain string, host MailHost, keys []DKIMKey) []dns.Record {
	recs := []dns.Record{
		dns.MX(domain, 10, host.Hostname),
		dns.TXT(domain, "v=spf1 mx -all"),
	}
	for _, k := range keys {
		recs = append(recs, dns.TXT(k.Selector+"._domainkey."+domain, k.Record))
	}
	recs = append(recs, dns.TXT("_dmarc."+domain, "v=DMARC1; p=reject; adkim=r; aspf=r"))
	for _, srv := range []struct {
		service string
		port    int
	}{
		{"_submission._tcp.", host.Submission},
		{"_submissions._tcp.", host.Submissions},
		{"_imap._tcp.", host.IMAP},
		{"_imaps._tcp.", host.IMAPS},
		{"_autodiscover._tcp.", host.HTTPS},
	} {
		if srv.port > 0 && srv.port < 1<<16 {
			recs = append(recs, dns.SRV(srv.service+domain, 0, 1, uint16(srv.port), host.Hostname))
		}
	}
	if !strings.EqualFold(strings.TrimSuffix(host.Hostname, "."), domain) {
		recs = append(recs, dns.CNAME("autoconfig."+domain, host.Hostname),
			dns.CNAME("autodiscover."+domain, host.Hostname))
	}
	return recs
}

// FormatDomainRecords is what 'mailserver domain dns' prints: the records as zone-file lines, with comments that
// say what to do with them. The output can be loaded as it is by the [dns] records file.
func FormatDomainRecords(domain string, host MailHost, keys []DKIMKey) string {
	var b strings.Builder
	b.WriteString("; DNS records for " + domain + ": publish them in the " + domain + " zone.\n")
	b.WriteString("; " + host.Hostname + " also needs A/AAAA records with this server's public address.\n")
	if len(keys) == 0 {
		b.WriteString("; This domain has no DKIM key yet: run 'mailserver domain dkim " + domain + "'.\n")
	}
	for _, r := range DomainRecords(domain, host, keys) {
		b.WriteString(r.String() + "\n")
	}
	return b.String()
}
