package mailauth

import (
	"context"
	"strings"

	"blitiri.com.ar/go/spf"
)

// SPFResult is the SPF check of the envelope sender (RFC 7208).
type SPFResult struct {
	Result   string // "pass", "fail", "softfail", "neutral", "none", "temperror" or "permerror"
	Domain   string // the domain checked: the MAIL FROM domain, or the HELO name for the null sender
	Identity string // "mailfrom", or "helo" for the null sender (and a MAIL FROM without a domain)
	Reason   string // why, for temperror and permerror
}

func checkSPF(ctx context.Context, r bounded, in Inbound) SPFResult {
	res := SPFResult{Identity: "mailfrom"}
	local, domain := "", ""
	if at := strings.LastIndexByte(in.MailFrom, '@'); at >= 0 {
		local, domain = in.MailFrom[:at], in.MailFrom[at+1:]
	}
	if domain == "" {
		// RFC 7208 2.4: for the null sender (bounces) the HELO identity is checked, as postmaster@helo.
		res.Identity, local, domain = "helo", "postmaster", in.Helo
	}
	res.Domain = domain
	d, ok := normalizeDomain(domain)
	if !ok {
		res.Result = string(spf.None) // RFC 7208 4.3: a malformed or single-label domain has no SPF
		return res
	}
	res.Domain = d
	if local == "" {
		local = "postmaster" // RFC 7208 4.3
	}
	result, err := spf.CheckHostWithSender(in.IP, in.Helo, local+"@"+d, spf.WithResolver(r), spf.WithContext(ctx))
	res.Result = string(result)
	if (result == spf.TempError || result == spf.PermError) && err != nil {
		res.Reason = err.Error()
	}
	return res
}
