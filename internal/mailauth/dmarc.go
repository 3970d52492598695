package mailauth

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-msgauth/dmarc"
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
	record *dmarc.Record
}

// maxAuthorDomains bounds the DMARC lookups a message can cause through its From addresses.
const maxAuthorDomains = 10

// addressParser reads From fields. Display names are decoded only to be skipped, so any charset will do: an unknown
// one (windows-1258 and VISCII are still about) must not make the address unreadable.
var addressParser = mail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
}}

// discoverDMARC finds the policy of every From domain (RFC 7489 6.6.3). It needs neither SPF nor DKIM, so it runs
// beside them, and the domains are looked up side by side: a sender slowing the lookups of domains it controls
// cannot push those of the domain it forges past the deadline.
func discoverDMARC(ctx context.Context, r bounded, msg []byte, protected func(string) bool) []authorPolicy {
	fields := headerFields(msg, "From")
	if len(fields) == 0 {
		return []authorPolicy{{res: DMARCResult{Result: "permerror", Reason: "no From field"}}}
	}
	var out []authorPolicy
	var domains []string
	for _, f := range fields {
		addrs, err := addressParser.ParseList(f)
		if err == nil && len(addrs) == 0 {
			err = errors.New("no address")
		}
		if err != nil {
			// A From that cannot be read has no domain to hold to a policy: permerror, and the message is accepted.
			out = append(out, authorPolicy{res: DMARCResult{Result: "permerror", Reason: "From field: " + err.Error()}})
			continue
		}
		for _, a := range addrs {
			raw := a.Address[strings.LastIndexByte(a.Address, '@')+1:]
			domain, ok := normalizeDomain(raw)
			if !ok {
				out = append(out, authorPolicy{res: DMARCResult{Result: "permerror", Domain: raw, Reason: "From domain is not a domain name"}})
			} else if !slices.Contains(domains, domain) {
				domains = append(domains, domain)
			}
		}
	}
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

func lookupPolicy(ctx context.Context, r bounded, domain string, protected func(string) bool) authorPolicy {
	res := DMARCResult{Domain: domain}
	rec, fromOrg, err := lookupDMARC(ctx, r, domain)
	switch {
	case errors.Is(err, dmarc.ErrNoPolicy) && protected != nil && protected(domain):
		// A domain served here whose record is not published (yet, or not on a closed network's records file):
		// its mail leaves only through this server, so a message arriving from outside must authenticate as if
		// the domain asked for rejection.
		res.Policy, res.Reason = string(dmarc.PolicyReject), "no DMARC record; held to p=reject as a domain served here"
		return authorPolicy{res: res, record: &dmarc.Record{Policy: dmarc.PolicyReject,
			DKIMAlignment: dmarc.AlignmentRelaxed, SPFAlignment: dmarc.AlignmentRelaxed}}
	case errors.Is(err, dmarc.ErrNoPolicy):
		res.Result = "none"
	case dmarc.IsTempFail(err):
		res.Result, res.Reason = "temperror", err.Error()
	case err != nil:
		res.Result, res.Reason = "permerror", err.Error() // a malformed record, RFC 7489 6.6.3
	default:
		res.Policy = string(rec.Policy)
		if fromOrg && rec.SubdomainPolicy != "" {
			res.Policy = string(rec.SubdomainPolicy)
		}
		return authorPolicy{res: res, record: rec}
	}
	return authorPolicy{res: res}
}

// lookupDMARC finds the record of domain, or else of its organisational domain; fromOrg says which, as sp= then
// applies.
func lookupDMARC(ctx context.Context, r bounded, domain string) (rec *dmarc.Record, fromOrg bool, err error) {
	opts := &dmarc.LookupOptions{LookupTXT: func(name string) ([]string, error) { return r.LookupTXT(ctx, name) }}
	rec, err = dmarc.LookupWithOptions(domain, opts)
	if org := orgDomain(domain); errors.Is(err, dmarc.ErrNoPolicy) && org != domain {
		rec, err = dmarc.LookupWithOptions(org, opts)
		fromOrg = true
	}
	return rec, fromOrg, err
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

func evaluate(rec *dmarc.Record, res DMARCResult, spf SPFResult, dkims []DKIMResult) (string, Action) {
	author := res.Domain
	if spf.Result == "pass" && aligned(spf.Domain, author, rec.SPFAlignment) ||
		dkimAligned(dkims, "pass", author, rec.DKIMAlignment) {
		return "pass", Accept
	}
	if spf.Result == "temperror" && aligned(spf.Domain, author, rec.SPFAlignment) ||
		dkimAligned(dkims, "temperror", author, rec.DKIMAlignment) {
		// An aligned check that could not finish might have passed. A DNS outage must not cost the message (on a
		// closed government network one can last), so it is accepted, and the header says temperror.
		return "temperror", Accept
	}
	// pct= is ignored: the policy applies to every failing message. Sampling would make the fate of a forged
	// message a matter of chance, and a domain that publishes a policy wants it applied.
	switch res.Policy {
	case dmarc.PolicyReject:
		return "fail", Reject
	case dmarc.PolicyQuarantine:
		return "fail", Quarantine
	}
	return "fail", Accept
}

// dkimAligned reports whether a signature with the result is aligned with the author domain.
func dkimAligned(dkims []DKIMResult, result, author string, mode dmarc.AlignmentMode) bool {
	for _, d := range dkims {
		if d.Result == result && aligned(d.Domain, author, mode) {
			return true
		}
	}
	return false
}

// aligned reports identifier alignment (RFC 7489 3.1): the same name in strict mode, the same organisational
// domain in relaxed mode.
func aligned(id, author string, mode dmarc.AlignmentMode) bool {
	id, ok := normalizeDomain(id)
	if !ok {
		return false
	}
	if mode == dmarc.AlignmentStrict {
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
	if r.SPF.Result == "pass" && r.SPF.Identity == "mailfrom" && aligned(r.SPF.Domain, d, dmarc.AlignmentRelaxed) {
		return true
	}
	return dkimAligned(r.DKIM, "pass", d, dmarc.AlignmentRelaxed)
}
