package outbound

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Client sends messages over SMTP. Its zero value (but for Hostname) is ready to use, and it is safe for
// concurrent use.
type Client struct {
	Hostname       string         // our name, said in EHLO
	DialTimeout    time.Duration  // per connection attempt; 0 means 30s
	CommandTimeout time.Duration  // each command and its reply; 0 means 5m (RFC 5321 4.5.3.2)
	SendTimeout    time.Duration  // each write of the message, not the whole; 0 means 3m (RFC 5321 4.5.3.2.5)
	DataTimeout    time.Duration  // the reply after the message's final dot; 0 means 10m (RFC 5321 4.5.3.2.6)
	RootCAs        *x509.CertPool // trusted roots for TLSVerify; nil means the system's

	// Dialer opens connections; nil means a net.Dialer.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

	// IdleTimeout keeps a connection that finished a message this long for the next message to the same target
	// (pool.go): a burst to one agency shares one connection and TLS handshake. 0 closes it after each message.
	IdleTimeout time.Duration

	idle pool // guarded by its own lock
}

// Envelope is the SMTP envelope of one transaction.
type Envelope struct {
	From       string // "" is the null sender of bounces
	Recipients []string
}

// Result is the outcome for one recipient.
type Result struct {
	Recipient string
	Reply     Reply // the reply that settled the recipient, or the last failure when no target worked
	Delivered bool  // a server accepted the message for the recipient
}

// Deliver sends message to the recipients of env in one transaction, trying targets in order: a target that
// cannot be connected to, greets or answers EHLO with an error, cannot give the TLS its policy requires, refuses
// the credentials or answers 421 before it has taken MAIL FROM is passed over for the next one. Once a server has
// taken MAIL FROM, its answers settle every recipient. Recipients no target settled get the last failure.
//
// The message is sent as it is (it should have CRLF line endings; bare LFs are sent as CRLF), with BODY=8BITMIME
// when it has 8-bit bytes and the server offers 8BITMIME; to a server without 8BITMIME it still goes as it is,
// as most MTAs do. Deliver returns one Result per recipient, in order, and returns promptly once ctx ends.
func (c *Client) Deliver(ctx context.Context, targets []Target, env Envelope, message []byte) []Result {
	d := newDelivery(c, env, message)
	last := diagnosis("", statusNoTargets, "no delivery targets")
	for _, t := range targets {
		if len(d.pending()) == 0 {
			break
		}
		settled, why := d.try(ctx, t)
		if settled {
			return d.results
		}
		last = why
		if ctx.Err() != nil {
			break
		}
	}
	for _, i := range d.pending() {
		d.settle(i, last)
	}
	return d.results
}

// Close ends the reuse of connections, for shutdown: each idle connection gets QUIT, within a short bound, and is
// closed, and a connection that a Deliver call still holds is closed when that call is done with it. Deliver still
// works afterwards, one connection per message. Close returns once the idle connections are closed.
func (c *Client) Close() { c.idle.close() }

// delivery is the state of one Deliver call.
type delivery struct {
	c         *Client
	env       Envelope
	message   []byte
	eightBit  bool // the message has 8-bit bytes
	utf8From  bool // the sender address needs SMTPUTF8
	utf8Heads bool // the header has UTF-8: SMTPUTF8 is asked for where offered
	results   []Result
	settled   []bool
}

func newDelivery(c *Client, env Envelope, message []byte) *delivery {
	d := &delivery{c: c, env: env, message: message, eightBit: has8bit(message), utf8From: has8bit(env.From),
		utf8Heads: has8bit(header(message)), results: make([]Result, len(env.Recipients)),
		settled: make([]bool, len(env.Recipients))}
	for i, rcpt := range env.Recipients {
		d.results[i].Recipient = rcpt
		if rcpt == "" || !validPath(rcpt) {
			d.settle(i, diagnosis("", statusBadRecipient, "recipient address %q cannot be sent in RCPT TO", rcpt))
		}
	}
	if !validPath(env.From) {
		d.settleAll(diagnosis("", statusBadSender, "sender address %q cannot be sent in MAIL FROM", env.From))
	}
	return d
}

func (d *delivery) settle(i int, r Reply) {
	d.results[i].Reply = r
	d.settled[i] = true
}

func (d *delivery) settleAll(r Reply) {
	for _, i := range d.pending() {
		d.settle(i, r)
	}
}

// pending lists the recipients not settled yet.
func (d *delivery) pending() []int {
	var p []int
	for i, done := range d.settled {
		if !done {
			p = append(p, i)
		}
	}
	return p
}

// try runs the transaction with one target. settled is false when the target was passed over, and why says why.
// A connection left idle by an earlier message to the same target is used first.
func (d *delivery) try(ctx context.Context, t Target) (settled bool, why Reply) {
	s, uses := d.c.idle.take(ctx, t)
	if s == nil {
		var retryPlain bool
		s, why, retryPlain = d.c.open(ctx, t, false)
		if retryPlain {
			s, why, _ = d.c.open(ctx, t, true)
		}
		if s == nil {
			return false, why
		}
	}
	settled, why = d.transact(ctx, s)
	if ctx.Err() != nil {
		s.broken = true // the context's end closed the connection
	}
	if d.c.IdleTimeout > 0 {
		d.c.idle.put(t, s, uses+1, d.c.IdleTimeout)
	} else {
		s.close()
	}
	return settled, why
}

// open connects to t and gets the session ready for MAIL FROM: greeting, EHLO, STARTTLS and AUTH as t's policy
// asks. On failure it returns the reason, and whether an opportunistic target should be tried again without TLS.
// plain skips STARTTLS.
func (c *Client) open(ctx context.Context, t Target, plain bool) (s *session, why Reply, retryPlain bool) {
	dialCtx, cancel := context.WithTimeout(ctx, orDefault(c.DialTimeout, 30*time.Second))
	defer cancel()
	dial := c.Dialer
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(dialCtx, "tcp", t.Addr)
	if err != nil {
		return nil, diagnosis("", statusNoAnswer, "connecting to %s[%s]: %v", t.Host, t.Addr, cause(ctx, err)), false
	}
	s = newSession(ctx, t.Host, conn, orDefault(c.CommandTimeout, 5*time.Minute))
	why, retryPlain, ok := c.prepare(ctx, s, t, plain)
	if !ok {
		s.close()
		return nil, why, retryPlain
	}
	return s, Reply{}, false
}

// prepare runs the session from the greeting to the point where MAIL FROM can be sent.
func (c *Client) prepare(ctx context.Context, s *session, t Target, plain bool) (why Reply, retryPlain, ok bool) {
	if r, err := s.greeting(); err != nil || r.Code != 220 {
		return c.failed(ctx, s, "reading the greeting", r, err), false, false
	}
	if r, err := s.hello(c.helloName(s.raw.LocalAddr())); err != nil || r.Code/100 != 2 {
		return c.failed(ctx, s, "saying EHLO", r, err), false, false
	}
	policy := t.policy()
	if !plain && policy != TLSNone {
		if !s.has("STARTTLS") {
			if policy != TLSOpportunistic {
				return diagnosis(s.host, statusNoTLS, "TLS is required but %s does not offer STARTTLS", s.host),
					false, false
			}
		} else if why, retryPlain, ok := c.startTLS(ctx, s, t, policy); !ok {
			return why, retryPlain, false
		}
	}
	if t.Username != "" {
		if !s.offersPlain() {
			return diagnosis(s.host, statusNoTLS, "%s does not offer AUTH PLAIN over TLS", s.host), false, false
		}
		r, err := s.authPlain(t.Username, t.Password)
		if err != nil {
			return c.lost(ctx, s, "authenticating", err), false, false
		}
		if r.Code != 235 {
			return diagnosis(s.host, statusAuthFailed, "%s did not accept the credentials of %s: %s", s.host, t.Username, r),
				false, false
		}
	}
	return Reply{}, false, true
}

// startTLS upgrades the session under policy (not TLSNone) and says EHLO again. With TLSOpportunistic a refusal
// leaves the session in plain text, and a failed handshake asks for a new plain connection.
func (c *Client) startTLS(ctx context.Context, s *session, t Target, policy TLSPolicy) (
	why Reply, retryPlain, ok bool) {
	r, err := s.startTLS(ctx, c.tlsConfig(t, policy))
	switch {
	case errors.Is(err, errHandshake) && ctx.Err() == nil:
		if policy == TLSOpportunistic {
			return Reply{}, true, false
		}
		return diagnosis(s.host, statusTLSFailed, "TLS with %s: %v", s.host, err), false, false
	case err != nil:
		return c.lost(ctx, s, "starting TLS", err), false, false
	case r.Code != 220:
		if policy == TLSOpportunistic {
			return Reply{}, false, true
		}
		return diagnosis(s.host, statusNoTLS, "TLS is required but %s refused STARTTLS: %s", s.host, r), false, false
	}
	if r, err := s.hello(c.helloName(s.raw.LocalAddr())); err != nil || r.Code/100 != 2 {
		return c.failed(ctx, s, "saying EHLO after STARTTLS", r, err), false, false
	}
	return Reply{}, false, true
}

// transact runs MAIL, RCPT and DATA for the pending recipients. settled is false only when the server refused
// MAIL FROM with 421 or the connection broke before it answered: the next target may then take the transaction.
func (d *delivery) transact(ctx context.Context, s *session) (settled bool, why Reply) {
	if limit := s.maxSize(); limit > 0 && int64(len(d.message)) > limit {
		d.settleAll(diagnosis(s.host, statusTooBig, "message of %d bytes exceeds the limit of %d bytes of %s",
			len(d.message), limit, s.host))
		return true, Reply{}
	}
	smtputf8 := d.checkUTF8(s)
	if len(d.pending()) == 0 {
		return true, Reply{}
	}

	mail := "MAIL FROM:<" + d.env.From + ">"
	if s.has("SIZE") {
		mail += " SIZE=" + strconv.Itoa(len(d.message))
	}
	if d.eightBit && s.has("8BITMIME") {
		mail += " BODY=8BITMIME"
	}
	if smtputf8 {
		mail += " SMTPUTF8"
	}
	r, err := s.cmd(mail)
	switch {
	case err != nil:
		return false, d.c.lost(ctx, s, "sending MAIL FROM", err)
	case r.Code == 421:
		return false, r
	case r.Code/100 != 2:
		d.settleAll(r)
		return true, Reply{}
	}

	var accepted []int
	for _, i := range d.pending() {
		r, err := s.cmd("RCPT TO:<" + d.env.Recipients[i] + ">")
		switch {
		case err != nil:
			d.settleAll(d.c.lost(ctx, s, "sending RCPT TO", err))
			return true, Reply{}
		case r.Code == 421:
			d.settleAll(r)
			return true, Reply{}
		case r.Code/100 == 2:
			accepted = append(accepted, i)
		default:
			d.settle(i, rcptRefusal(r))
		}
	}
	if len(accepted) == 0 {
		return true, Reply{}
	}

	r, err = s.data(d.message, orDefault(d.c.SendTimeout, 3*time.Minute), orDefault(d.c.DataTimeout, 10*time.Minute))
	if err != nil {
		r = d.c.lost(ctx, s, "sending the message", err)
	}
	for _, i := range accepted {
		d.settle(i, r)
		d.results[i].Delivered = err == nil && r.Code/100 == 2
	}
	return true, Reply{}
}

// rcptRefusal is how a refusal of RCPT settles the recipient. RFC 821 gave "too many recipients" the code 552,
// which RFC 5321 4.5.3.1.10 corrects to 452 and asks clients to take as temporary: so 552 counts as 452 (and its
// enhanced code as class 4), keeping the server's text, and the queue tries the recipient again later.
func rcptRefusal(r Reply) Reply {
	if r.Code != 552 {
		return r
	}
	r.Code = 452
	if rest, ok := strings.CutPrefix(r.Enhanced, "5."); ok {
		r.Enhanced = "4." + rest
	}
	return r
}

// checkUTF8 settles the recipients whose addresses need SMTPUTF8 (RFC 6531) when the server does not offer it, and
// reports whether MAIL FROM must ask for it. UTF-8 in the header alone asks for SMTPUTF8 where offered but never
// fails: a server without it gets the message as it is, as Postfix does by default. Mail clients write raw UTF-8
// Vietnamese names once the submission server offers SMTPUTF8, and bouncing those at every older agency server
// would lose far more mail than the rare server that cannot store such a header.
func (d *delivery) checkUTF8(s *session) bool {
	needed := d.utf8From || d.utf8Heads
	for _, i := range d.pending() {
		needed = needed || has8bit(d.env.Recipients[i])
	}
	if !needed || s.has("SMTPUTF8") {
		return needed
	}
	switch {
	case d.utf8From:
		d.settleAll(diagnosis(s.host, statusUTF8Address,
			"sender address %q needs SMTPUTF8, which %s does not offer", d.env.From, s.host))
	default:
		for _, i := range d.pending() {
			if rcpt := d.env.Recipients[i]; has8bit(rcpt) {
				d.settle(i, diagnosis(s.host, statusUTF8Address,
					"recipient address %q needs SMTPUTF8, which %s does not offer", rcpt, s.host))
			}
		}
	}
	return false
}

// failed is why a server could not be used before MAIL FROM: its refusal, or what went wrong with the session.
func (c *Client) failed(ctx context.Context, s *session, doing string, r Reply, err error) Reply {
	switch {
	case err != nil:
		return c.lost(ctx, s, doing, err)
	case r.Code < 400:
		return diagnosis(s.host, statusProtocol, "unexpected reply from %s while %s: %s", s.host, doing, r)
	}
	return r
}

// lost is the reason when the session broke while doing something: the connection failed or timed out, or the
// server broke the protocol.
func (c *Client) lost(ctx context.Context, s *session, doing string, err error) Reply {
	if errors.Is(err, errProtocol) {
		return diagnosis(s.host, statusProtocol, "unexpected reply from %s while %s: %v", s.host, doing, err)
	}
	return diagnosis(s.host, statusBadConnection, "connection to %s lost while %s: %v", s.host, doing, cause(ctx, err))
}

// helloName is the name to say in EHLO: Hostname, or else the address literal of our end of the connection
// (RFC 5321 4.1.4), since an empty or made-up name gets refused.
func (c *Client) helloName(local net.Addr) string {
	if c.Hostname != "" {
		return c.Hostname
	}
	ap, err := netip.ParseAddrPort(local.String())
	switch {
	case err != nil:
		return "localhost"
	case ap.Addr().Unmap().Is4():
		return "[" + ap.Addr().Unmap().String() + "]"
	default:
		return "[IPv6:" + ap.Addr().WithZone("").String() + "]"
	}
}

// cause is err, or the context's end that brought it about (closing the connection gives a less telling error).
func cause(ctx context.Context, err error) error {
	if ctxErr := context.Cause(ctx); ctxErr != nil {
		return ctxErr
	}
	return err
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
