package mailauth

import (
	"context"
	"net"
	"strconv"
	"sync"
	"time"

	"mailserver/internal/dns"
)

// Verifier checks mail arriving on the MX port. Resolver must be set; the other fields have defaults.
type Verifier struct {
	Resolver   dns.Resolver
	AuthServID string // our host name: the authserv-id of Authentication-Results
	MaxDKIM    int    // signatures verified per message (0: 5); bounds the work a hostile message can cause
	// Timeout bounds the whole verification (0: 20s); a lookup still running then is a temperror. The lookups the
	// client's reverse DNS drives (SPF's "ptr") share a quarter of it.
	Timeout time.Duration
	// Protected reports the domains served here. A From in one of them, or in a subdomain of one that is an
	// organisational domain, finding no DMARC record is held to p=reject: its genuine mail is submitted here, never
	// received from another server. nil: none.
	Protected func(domain string) bool
}

const (
	defaultMaxDKIM = 5
	defaultTimeout = 20 * time.Second
	ptrShare       = 4 // the reverse-DNS budget is Timeout/ptrShare
)

// Inbound is a message as received: the SMTP client and envelope, and the whole message with CRLF line ends.
type Inbound struct {
	IP       net.IP
	Helo     string
	MailFrom string // "" for the null sender
	Message  []byte
}

// Result is what Verify found.
type Result struct {
	AuthServID string // from the Verifier, for Header
	SPF        SPFResult
	DKIM       []DKIMResult // one per signature verified; none for an unsigned message
	DMARC      DMARCResult
	// Action is what the author domain's DMARC policy asks for: Accept unless DMARC failed, or the message names
	// more From domains than are checked.
	Action Action
}

// Action is what DMARC asks the receiver to do with a message. Actions are ordered: a greater one is stricter.
type Action int

const (
	Accept Action = iota
	Quarantine
	Reject
)

func (a Action) String() string {
	switch a {
	case Accept:
		return "accept"
	case Quarantine:
		return "quarantine"
	case Reject:
		return "reject"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Verify checks the SPF of the envelope, the message's DKIM signatures and the DMARC policy of its author domain.
// It always returns a Result: failures to check are results (temperror, permerror), not errors.
func (v *Verifier) Verify(ctx context.Context, in Inbound) Result {
	timeout, maxDKIM := v.Timeout, v.MaxDKIM
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	if maxDKIM <= 0 {
		maxDKIM = defaultMaxDKIM
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The client's reverse zone may belong to a forger: the lookups it drives get a quarter of the time, and the
	// forged domain's own lookups keep the rest (RFC 7208 5.5 lets the "ptr" mechanism simply not match then).
	r := bounded{r: v.Resolver, ptr: &ptrBudget{budget: timeout / ptrShare}}

	// The three checks look up different names and only DMARC's evaluation needs the others' results: side by
	// side they share the deadline rather than queue for it.
	var spf SPFResult
	var policies []authorPolicy
	var wg sync.WaitGroup
	wg.Go(func() { spf = checkSPF(ctx, r, in) })
	wg.Go(func() { policies = discoverDMARC(ctx, r, in.Message, v.Protected) })
	dkims := verifyDKIM(ctx, r, in.Message, maxDKIM)
	wg.Wait()

	dmarc, action := applyDMARC(policies, spf, dkims)
	return Result{AuthServID: v.AuthServID, SPF: spf, DKIM: dkims, DMARC: dmarc, Action: action}
}
