package delivery

import (
	"net"
	"strings"
	"time"
)

// trace returns the header lines stored with one recipient's copy and prepended when it is read: Return-Path and
// Delivered-To (RFC 5321 section 4.4: the final delivery adds the return path), the Authentication-Results of the
// inbound checks if there are any (SetVerdict), then this server's Received line,
// naming the recipient as the client gave it ("for <rcpt>") and the account that got the copy.
//
//	Return-Path: <an@hanoi.gov.vn>
//	Delivered-To: binh@hanoi.gov.vn
//	Received: from client.example ([192.0.2.7])
//		by mail.hanoi.gov.vn with ESMTPSA id 4K2M7Q9ZJ3HX
//		for <Binh@hanoi.gov.vn>; Mon, 02 Jan 2006 15:04:05 +0700
func (t *Transaction) trace(rcpt, account string, now time.Time) []byte {
	var b strings.Builder
	b.WriteString("Return-Path: <" + headerSafe(t.env.From) + ">\r\n")
	b.WriteString("Delivered-To: " + headerSafe(account) + "\r\n")
	b.Write(t.authResults)
	b.WriteString(t.received("<"+headerSafe(rcpt)+">", now))
	return []byte(b.String())
}

// outboundTrace is the Received line sent ahead of the queued copy to other servers. It names no recipient: the
// one copy goes to several, and listing them would disclose Bcc recipients.
func (t *Transaction) outboundTrace(now time.Time) []byte { return []byte(t.received("", now)) }

// received is this server's Received line, with "for <rcpt>" when forRcpt is set. A report this server writes
// itself has no client to name.
func (t *Transaction) received(forRcpt string, now time.Time) string {
	var b strings.Builder
	if t.env.Internal {
		b.WriteString("Received: by " + headerSafe(t.d.hostname) + " id " + t.id)
	} else {
		b.WriteString("Received: from " + commentSafe(t.env.HeloName) + " (" + tcpInfo(t.env.RemoteAddr) + ")\r\n")
		b.WriteString("\tby " + headerSafe(t.d.hostname) + " with " + t.protocol() + " id " + t.id)
	}
	if forRcpt != "" {
		b.WriteString("\r\n\tfor " + forRcpt)
	}
	b.WriteString("; " + now.Format(time.RFC1123Z) + "\r\n")
	return b.String()
}

// protocol is the "with" keyword of RFC 3848: ESMTP, plus S for TLS and A for an authenticated client.
func (t *Transaction) protocol() string {
	p := "ESMTP"
	if t.env.TLS {
		p += "S"
	}
	if t.env.Authenticated != "" {
		p += "A"
	}
	return p
}

// tcpInfo is RFC 5321's TCP-info without a reverse lookup: the client's address literal.
func tcpInfo(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP == nil {
		return "unknown"
	}
	if ip4 := tcp.IP.To4(); ip4 != nil {
		return "[" + ip4.String() + "]"
	}
	return "[IPv6:" + tcp.IP.String() + "]"
}

// headerSafe replaces control characters (a bare CR can reach a command argument) so that client-supplied text
// cannot break or extend a header line.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// commentSafe is headerSafe for text placed before a parenthesised comment: it also replaces parentheses and
// blanks, and stands in for an empty HELO name.
func commentSafe(s string) string {
	if s == "" {
		return "unknown"
	}
	if len(s) > 255 {
		s = s[:255]
	}
	return strings.Map(func(r rune) rune {
		if r <= 0x20 || r == 0x7f || r == '(' || r == ')' || r == '\\' {
			return '?'
		}
		return r
	}, s)
}
