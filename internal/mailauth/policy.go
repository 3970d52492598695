package mailauth

import (
	"context"
	"fmt"

	"mailserver/internal/address"
)

// Policy decides what the MX port does with a message from another server: it runs the Verifier and weighs what
// the author domain's DMARC policy asks for, and the display-name rule, against the receiving side's choices
// (the [inbound] configuration).
type Policy struct {
	// Verifier checks SPF, DKIM and DMARC; nil: they are not checked, and a group's listed sender is taken on its
	// MAIL FROM alone, as it was before inbound checks existed.
	Verifier *Verifier
	// QuarantineRejects delivers a message whose author domain's DMARC policy asks for rejection into Junk instead
	// of refusing it.
	QuarantineRejects bool
	// DisplayNameSpoof is what a message from outside gets when a From or Sender display name shows an address
	// of a domain served here (findDisplayNameSpoof): Quarantine, Reject, or Accept to leave it alone.
	DisplayNameSpoof Action
	// Local reports the domains served here, as Verifier.Protected does.
	Local func(domain string) bool
}

// Verdict is a Policy's decision on one message.
type Verdict struct {
	// Action is what to do with the message: accept it, deliver it into Junk (Quarantine) or refuse it.
	Action Action
	// Reason says why, for the reply and the log, when Action is not Accept.
	Reason string
	// Trace is the header fields to store with every copy, CRLF-terminated: the Authentication-Results of the
	// checks, and a warning field when a display name shows one of our addresses.
	Trace string
	// SenderAuthenticated: SPF or an aligned DKIM signature vouches for the MAIL FROM domain (always, without a
	// Verifier). A group that admitted the message on its MAIL FROM alone refuses it without.
	SenderAuthenticated bool
}

// Judge checks a message and decides what becomes of it. When the checks disagree, the strictest action wins, and
// its reason is the one given.
func (p *Policy) Judge(ctx context.Context, in Inbound) Verdict {
	v := Verdict{SenderAuthenticated: true}
	if p.Verifier != nil {
		v = p.dmarcVerdict(p.Verifier.Verify(ctx, in), in.MailFrom)
	}
	if p.DisplayNameSpoof == Accept {
		return v
	}
	if spoof, found := findDisplayNameSpoof(in.Message, p.Local); found {
		v.Trace += spoof.warning()
		if p.DisplayNameSpoof > v.Action {
			v.Action, v.Reason = p.DisplayNameSpoof, spoof.reason(p.DisplayNameSpoof)
		}
	}
	return v
}

// dmarcVerdict turns the results of the checks into a verdict: DMARC's reject becomes a refusal unless
// QuarantineRejects, and its quarantine a delivery into Junk.
func (p *Policy) dmarcVerdict(r Result, mailFrom string) Verdict {
	from, err := address.ParseUnquoted(mailFrom) // the null sender does not parse
	v := Verdict{Trace: r.Header(), SenderAuthenticated: err == nil && r.Authenticates(from.Domain)}
	switch {
	case r.Action == Reject && !p.QuarantineRejects:
		v.Action = Reject
		v.Reason = fmt.Sprintf("message rejected: the DMARC policy of %s refuses mail that fails its checks (SPF %s, no aligned DKIM signature)",
			r.DMARC.Domain, r.SPF.Result)
	case r.Action != Accept:
		v.Action = Quarantine
		v.Reason = fmt.Sprintf("DMARC of %s failed, policy %s", r.DMARC.Domain, r.DMARC.Policy)
	}
	return v
}
