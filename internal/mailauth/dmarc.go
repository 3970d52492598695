package mailauth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"mailserver/internal/message"
)

// DMARCResult is the DMARC evaluation of the author domain (RFC 7489).
type DMARCResult struct {
	Result string // "pass", "fail", "none", "temperror" or "permerror"
	Domain string // the RFC5322.From domain
	// Policy is the one that applies, "none", "quarantine" or "reject": sp= for a subdomain whose record is its
	// organisation's.
	Policy string
	Reason string // why, for temperror and permerror
}

// authorPolicy is what policy discovery found for one From address: a record to apply, or a result decided
// already (no record, a failed lookup, an unreadable From).
type authorPolicy struct {
	res    DMARCResult // Domain and Policy only, when record is set
	action Action
	record *dmarcRecord
}

// maxAuthorDomains bounds the DMARC lookups a message can cause through its From addresses.
const maxAuthorDomains = 10

// discoverDMARC finds the policy of every From domain (RFC 7489 6.6.3). It needs neither SPF nor DKIM, so it runs
// beside them, and the domains are looked up side by side: a sender slowing the lookups of domains it controls
// cannot push those of the domain it forges past the deadline.
func discoverDMARC(ctx context.Context, r bounded, msg []byte, protected func(string) bool) []authorPolicy {
	domains, out := authorDomains(msg)
	if len(domains) > maxAuthorDomains {
		// Evaluating only some would let a forger hide the domain that matters behind others, so the message gets
		// what the strictest domain could ask. No legitimate sender needs this: a message from many domains fails
		// DMARC for all but its signer's anyway.
		return []authorPolicy{{res: DMARCResult{Result: "permerror", Reason: "too many From domains"}, action: Reject}}
	}
	found := make([]authorPolicy, len(domains))
	var wg sync.WaitGroup
	for i, d := range domains {
		wg.Go(func() { found[i] = lookupPolicy(ctx, r, d, protected) })
	}
	wg.Wait()
	return append(out, found...)
}

// authorDomains returns the distinct domains of the From addresses, and a permerror for each From field in which
// no address can be found and each address whose host is not a domain name. The addresses are those this server
// shows a reader (message.AddressDomains, the IMAP ENVELOPE's reading): a field net/mail rejects, as an unclosed
// "<" or raw 8-bit display name makes it, still shows its author, who must not escape the author's policy
// (RFC 7489 6.6.1).
func authorDomains(msg []byte) (domains []string, unusable []authorPolicy) {
	fields := headerFields(msg, "From")
	if len(fields) == 0 {
		return nil, []authorPolicy{permerror("", "no From field")}
	}
	hosts := envelopeAuthorHosts(msg, fields)
	for _, f := range fields {
		fieldHosts := message.AddressDomains(f)
		if len(fieldHosts) == 0 {
			unusable = append(unusable, permerror("", "no address in From field"))
		}
		hosts = append(hosts, fieldHosts...)
	}
	for _, h := range hosts {
		domain, ok := normalizeDomain(asSeen(h))
		if !ok {
			unusable = append(unusable, permerror(h, "From domain is not a domain name"))
		} else if !slices.Contains(domains, domain) {
			domains = append(domains, domain)
		}
	}
	return domains, unusable
}

// envelopeAuthorHosts returns the hosts of the From addresses in the message's ENVELOPE when a From field holds
// raw 8-bit bytes that are not UTF-8. The ENVELOPE reads those in the charset of the message's first text part,
// and a multibyte one (Shift_JIS) can take a quote or backslash into a character, so that an address appears
// there that the same bytes read as UTF-8 do not show. Parsing the whole message costs time, but only such
// messages pay it.
func envelopeAuthorHosts(msg []byte, fields []string) []string {
	if !slices.ContainsFunc(fields, func(f string) bool { return !utf8.ValidString(f) }) {
		return nil
	}
	var hosts []string
	for _, a := range message.Parse(msg).Envelope.From {
		hosts = append(hosts, a.Host)
	}
	return hosts
}

// asSeen is host as a reader sees it: without blanks and control characters (the ENVELOPE turns a control
// character into a space) and without invisible format characters such as U+200D, which a forger could add to
// a protected domain to make it fail as a domain name while it still looks the same.
func asSeen(host string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, host)
}

func permerror(domain, reason string) authorPolicy {
	return authorPolicy{res: DMARCResult{Result: "permerror", Domain: domain, Reason: reason}}
}

func lookupPolicy(ctx context.Context, r bounded, domain string, protected func(string) bool) authorPolicy {
	res := DMARCResult{Domain: domain}
	rec, fromOrg, err := lookupDMARC(ctx, r, domain)
	switch {
	case errors.Is(err, errNoRecord):
		if served, ok := servedHere(domain, protected); ok {
			// A domain served here whose record is not published (yet, or not on a closed network's records
			// file): its mail leaves only through this server, so a message arriving from outside must
			// authenticate as if the domain asked for rejection.
			res.Policy, res.Reason = policyReject, "no DMARC record; held to p=reject as "+served
			return authorPolicy{res: res, record: &dmarcRecord{policy: policyReject}}
		}
		res.Result = "none"
	case errors.Is(err, errUnusableRecord):
		res.Result, res.Reason = "permerror", err.Error() // RFC 7489 6.6.3 step 6
	case err != nil:
		res.Result, res.Reason = "temperror", err.Error() // any failure but "not found", RFC 7489 6.6.3
	default:
		res.Policy = rec.policy
		if fromOrg && rec.subdomainPolicy != "" {
			res.Policy = rec.subdomainPolicy
		}
		return authorPolicy{res: res, record: rec}
	}
	return authorPolicy{res: res}
}

// servedHere reports whether domain, or the organisational domain it belongs to, is served here, and says which.
// A subdomain is held to its organisation's implied p=reject too: sp= defaults to p= (RFC 7489 6.3), and a
// forger must not escape by inventing vanphong.c.gov.vn for a served c.gov.vn.
func servedHere(domain string, protected func(string) bool) (string, bool) {
	if protected == nil {
		return "", false
	}
	if protected(domain) {
		return "a domain served here", true
	}
	if org := orgDomain(domain); org != domain && protected(org) {
		return "a subdomain of " + org + ", served here", true
	}
	return "", false
}

// applyDMARC evaluates each author domain's policy against the SPF and DKIM results. With several From fields or
// addresses, which a forger could add to smuggle in an unchecked domain, the strictest action wins, and the result
// reported is the one that decided it.
func applyDMARC(policies []authorPolicy, spf SPFResult, dkims []DKIMResult) (DMARCResult, Action) {
	var worst DMARCResult
	var worstAction Action
	for _, p := range policies {
		res, action := p.res, p.action
		if p.record != nil {
			res.Result, action = evaluate(p.record, res, spf, dkims)
		}
		if worst.Result == "" || action > worstAction || action == worstAction && rank[res.Result] > rank[worst.Result] {
			worst, worstAction = res, action
		}
	}
	return worst, worstAction
}

// rank orders results of the same action: the report shows the worst.
var rank = map[string]int{"pass": 0, "none": 1, "temperror": 2, "permerror": 3, "fail": 4}

func evaluate(rec *dmarcRecord, res DMARCResult, spf SPFResult, dkims []DKIMResult) (string, Action) {
	author := res.Domain
	if spf.Result == "pass" && aligned(spf.Domain, author, rec.spfAlignment) ||
		dkimAligned(dkims, "pass", author, rec.dkimAlignment) {
		return "pass", Accept
	}
	if spf.Result == "temperror" && aligned(spf.Domain, author, rec.spfAlignment) ||
		dkimAligned(dkims, "temperror", author, rec.dkimAlignment) {
		// An aligned check that could not finish might have passed. A DNS outage must not cost the message (on a
		// closed government network one can last), so it is accepted, and the header says temperror.
		return "temperror", Accept
	}
	// pct= is ignored: the policy applies to every failing message. Sampling would make the fate of a forged
	// message a matter of chance, and a domain that publishes a policy wants it applied.
	switch res.Policy {
	case policyReject:
		return "fail", Reject
	case policyQuarantine:
		return "fail", Quarantine
	}
	return "fail", Accept
}

// dkimAligned reports whether a signature with the result is aligned with the author domain.
func dkimAligned(dkims []DKIMResult, result, author string, mode alignment) bool {
	for _, d := range dkims {
		if d.Result == result && aligned(d.Domain, author, mode) {
			return true
		}
	}
	return false
}

// aligned reports identifier alignment (RFC 7489 3.1): the same name in strict mode, the same organisational
// domain in relaxed mode.
func aligned(id, author string, mode alignment) bool {
	id, ok := normalizeDomain(id)
	if !ok {
		return false
	}
	if mode == strict {
		return id == author
	}
	return orgDomain(id) == orgDomain(author)
}

// Authenticates reports whether the checks vouch for domain as the sender: SPF passed for it as the MAIL FROM
// domain, or a valid DKIM signature is aligned with it (same organisational domain, as DMARC's relaxed mode).
func (r Result) Authenticates(domain string) bool {
	d, ok := normalizeDomain(domain)
	if !ok {
		return false
	}
	if r.SPF.Result == "pass" && r.SPF.Identity == "mailfrom" && aligned(r.SPF.Domain, d, relaxed) {
		return true
	}
	return dkimAligned(r.DKIM, "pass", d, relaxed)
}
