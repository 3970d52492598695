package admin

import (
	"net/netip"
	"strings"

	"mailserver/internal/dns"
)

// MailHost is the server as other servers and mail clients reach it, for DomainRecords.
type MailHost struct {
	Hostname string // the MX host and the target of the client records
	// Ports clients connect to; 0: the service is not offered to them (no listener, or a loopback-only one).
	Submission, Submissions, IMAP, IMAPS, HTTPS int
	// Smarthost is the host name or IP address of the relay that outbound mail leaves through ([smarthost]);
	// "": mail leaves from this host.
	Smarthost string
}

// DomainRecords lists every DNS record a domain served here needs:
//   - MX: other servers deliver its mail to this host;
//   - SPF: only this host sends its mail ("v=spf1 mx -all"), and the smarthost too when there is one;
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
		dns.TXT(domain, spfPolicy(host)),
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
		recs = append(recs, serviceRecord(srv.service+domain, srv.port, host.Hostname))
	}
	if !strings.EqualFold(strings.TrimSuffix(host.Hostname, "."), domain) {
		recs = append(recs, dns.CNAME("autoconfig."+domain, host.Hostname),
			dns.CNAME("autodiscover."+domain, host.Hostname))
	}
	return recs
}

// notOffered is the data of an SRV record saying that a service is not offered: target "." (RFC 2782; RFC 6186
// section 3.4). A client then stops looking instead of trying a port nobody outside can reach.
const notOffered = "0 0 0 ."

// serviceRecord points clients at port on target, or says the service is not offered when port is 0.
func serviceRecord(name string, port int, target string) dns.Record {
	if port <= 0 || port >= 1<<16 {
		return dns.SRV(name, 0, 0, 0, ".")
	}
	return dns.SRV(name, 0, 1, uint16(port), target)
}

// spfPolicy is the domain's SPF record (RFC 7208): its MX hosts send its mail, and so does the smarthost when mail
// leaves through one; nothing else does.
func spfPolicy(host MailHost) string {
	if host.Smarthost == "" {
		return "v=spf1 mx -all"
	}
	return "v=spf1 mx " + spfHostTerm(host.Smarthost) + " -all"
}

// spfHostTerm is the SPF mechanism matching host: ip4:/ip6: for an address, a: for a name (its A/AAAA records).
func spfHostTerm(host string) string {
	ip, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return "a:" + strings.TrimSuffix(host, ".")
	case ip.Unmap().Is4():
		return "ip4:" + ip.Unmap().String()
	}
	return "ip6:" + ip.WithZone("").String()
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
	recs := DomainRecords(domain, host, keys)
	if hasNotOffered(recs) {
		b.WriteString("; SRV records with target \".\" tell mail clients the service is not offered: its listener is\n" +
			"; off or on loopback only. Give it a public listen address in the configuration to offer it.\n")
	}
	for _, r := range recs {
		if isSPF(r) && host.Smarthost != "" {
			b.WriteString("; Mail leaves through the smarthost " + strings.TrimSuffix(host.Smarthost, ".") + ", which SPF lets send it. If the relay\n" +
				"; sends from other addresses too, add them (ip4:, ip6:, or the include: its operator gives) or receivers\n" +
				"; will refuse the mail.\n")
		}
		b.WriteString(r.String() + "\n")
	}
	return b.String()
}

func isSPF(r dns.Record) bool { return r.Type == "TXT" && strings.HasPrefix(r.Data, "v=spf1 ") }

func hasNotOffered(recs []dns.Record) bool {
	for _, r := range recs {
		if r.Type == "SRV" && r.Data == notOffered {
			return true
		}
	}
	return false
}
