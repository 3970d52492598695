package mailauth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"mailserver/internal/dns"
)

// dmarcRecord is what the evaluation uses of a DMARC record (RFC 7489 6.3). The reporting tags are not used, and
// pct= is ignored by design (see evaluate).
type dmarcRecord struct {
	policy          string // p=: policyNone, policyQuarantine or policyReject
	subdomainPolicy string // sp=; "" when absent or unreadable, and then p= applies (RFC 7489 6.3)
	dkimAlignment   alignment
	spfAlignment    alignment
}

// The policies of p= and sp=, as the evaluation and the Authentication-Results header name them.
const (
	policyNone       = "none"
	policyQuarantine = "quarantine"
	policyReject     = "reject"
)

// alignment is the identifier alignment mode of adkim= and aspf= (RFC 7489 3.1). The zero value is relaxed, the
// default.
type alignment int

const (
	relaxed alignment = iota
	strict
)

var (
	// errNoRecord: the domain publishes no DMARC record.
	errNoRecord = errors.New("no DMARC record")
	// errUnusableRecord: the record has no valid p= (RFC 7489 6.6.3 step 6), so it holds no policy to apply.
	errUnusableRecord = errors.New("unusable DMARC record")
)

// lookupDMARC finds the record of domain, or else of its organisational domain (RFC 7489 6.6.3 steps 1 to 3);
// fromOrg says which, as sp= then applies. A failed lookup is a *net.DNSError, wrapped.
func lookupDMARC(ctx context.Context, r bounded, domain string) (rec *dmarcRecord, fromOrg bool, err error) {
	rec, err = fetchDMARC(ctx, r, domain)
	if org := orgDomain(domain); errors.Is(err, errNoRecord) && org != domain {
		rec, err = fetchDMARC(ctx, r, org)
		fromOrg = true
	}
	return rec, fromOrg, err
}

// fetchDMARC reads the DMARC record published at _dmarc.domain. TXT records that do not start with v=DMARC1 are
// not DMARC records (RFC 7489 6.6.3 step 2). Of several, the first is used, as before: the RFC would apply none,
// and a domain that published two by mistake still asked for a policy.
func fetchDMARC(ctx context.Context, r bounded, domain string) (*dmarcRecord, error) {
	name := "_dmarc." + domain
	txts, err := r.LookupTXT(ctx, name)
	if dns.IsNotFound(err) {
		return nil, errNoRecord
	}
	if err != nil {
		return nil, fmt.Errorf("DMARC record of %s: %w", domain, err)
	}
	for _, txt := range txts {
		if tags, ok := dmarcTags(txt); ok {
			rec, err := parseDMARC(tags)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			return rec, nil
		}
	}
	return nil, errNoRecord
}

// dmarcTags splits a TXT record into its tags, names in lower case, blanks around names and values removed; ok is
// false unless it is a DMARC record: its first tag v=DMARC1 (RFC 7489 6.4). A part without "=" is not a tag and is
// skipped; of a tag given twice, the first counts.
func dmarcTags(txt string) (tags map[string]string, ok bool) {
	tags = map[string]string{}
	first := true
	for part := range strings.SplitSeq(txt, ";") {
		name, value, isTag := strings.Cut(part, "=")
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		if first {
			// The version is matched without regard to case: a record that names DMARC1 meant to publish a
			// policy, and reading it as none would let forgeries through.
			if !isTag || name != "v" || !strings.EqualFold(value, "DMARC1") {
				return nil, false
			}
			first = false
		}
		if _, seen := tags[name]; isTag && !seen {
			tags[name] = value
		}
	}
	return tags, true
}

// parseDMARC reads the tags the evaluation uses, leniently: RFC 7489 6.3 has a syntax error elsewhere in the
// record ignored, so an unknown value of adkim= or aspf= leaves the default, an unreadable sp= leaves p= to apply,
// and the other tags (fo=, ri=, rf=, rua=, pct=, ...) are not read at all. Keywords are case-insensitive, as ABNF
// strings are (RFC 5234 2.3). Only a missing or unknown p= leaves no policy (RFC 7489 6.6.3 step 6).
func parseDMARC(tags map[string]string) (*dmarcRecord, error) {
	p, ok := dmarcPolicy(tags["p"])
	if !ok {
		return nil, fmt.Errorf("%w: p=%q is not none, quarantine or reject", errUnusableRecord, tags["p"])
	}
	sp, _ := dmarcPolicy(tags["sp"])
	return &dmarcRecord{policy: p, subdomainPolicy: sp,
		dkimAlignment: alignmentMode(tags["adkim"]), spfAlignment: alignmentMode(tags["aspf"])}, nil
}

// dmarcPolicy reads the value of p= or sp=.
func dmarcPolicy(v string) (string, bool) {
	switch p := strings.ToLower(v); p {
	case policyNone, policyQuarantine, policyReject:
		return p, true
	}
	return "", false
}

// alignmentMode reads the value of adkim= or aspf=: "s" is strict, anything else the default, relaxed.
func alignmentMode(v string) alignment {
	if strings.EqualFold(v, "s") {
		return strict
	}
	return relaxed
}
