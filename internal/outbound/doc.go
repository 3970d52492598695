// Package outbound is the transport of the outbound queue: a Router says where mail for a domain goes (a static
// route, the smarthost, or the domain's MX hosts), and a Client sends one message to the recipients of one domain
// in one SMTP transaction, trying the targets in order until one server takes the transaction. The queue worker
// (scheduling, retries, bounces, signing) turns the per-recipient Results and the routing Errors into deliveries,
// retries and bounces.
//
// Every outcome carries an RFC 3463 enhanced status code. Codes that a remote server gave are passed on as it
// gave them, but for 552 to RCPT, which is taken as 452 with class 4 (RFC 5321 4.5.3.1.10); the ones this package
// gives itself are:
//
//	5.1.2   the domain does not exist, has neither MX nor address records, or is an IP address or has an
//	        all-digit top-level label
//	5.1.10  the domain has a null MX (RFC 7505): it accepts no mail
//	5.4.4   every MX host of the domain does not exist
//	4.4.4   a route or smarthost host name does not resolve (a configuration fault: mail waits, it does not bounce)
//	4.3.5   a route or smarthost Host is not host:port
//	4.4.3   a DNS lookup failed
//	4.4.1   no target answered (connection refused, timed out, unreachable)
//	4.4.2   a connection broke or timed out during the session
//	4.5.0   a server broke the protocol (a malformed or unexpected reply)
//	4.7.4   TLS is required but the server did not offer or refused STARTTLS, or offers no AUTH PLAIN
//	4.7.5   the TLS handshake failed or the certificate did not verify
//	4.7.8   the smarthost refused the credentials (temporary, so a wrong password does not bounce mail)
//	5.3.4   the message is larger than the SIZE the server advertises
//	5.6.7   an address needs SMTPUTF8 and the server does not offer it (RFC 6531)
//	5.1.3   a recipient address cannot be put in a RCPT command
//	5.1.7   the sender address cannot be put in a MAIL command
package outbound
