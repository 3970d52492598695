// Package mailauth authenticates mail. Inbound, a Verifier checks the SPF, DKIM and DMARC of a message arriving on
// the MX port, says what the author domain's DMARC policy asks for when the message fails, and renders the results
// as an Authentication-Results header field (RFC 8601) for the recipients' mail. A Policy turns those results, the
// display-name rule (a name showing one of our addresses over a mailbox elsewhere) and the receiving side's
// configuration into what the MX port does: accept, deliver into Junk, or refuse. Outbound, Sign adds the DKIM
// signatures of a local domain's keys, which GenerateKey makes and PublicRecord publishes.
//
// Every DNS query goes through a dns.Resolver, bounded by the Verifier's deadline, so that an override file answers
// first and a slow or broken name server costs a temperror rather than a stuck SMTP session.
package mailauth
