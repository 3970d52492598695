package smtp

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/netaddr"
	"mailserver/internal/netlimit"
)

// Directory harvesting: a client that tries address after address to learn which exist gets each unknown one
// answered more slowly, and then not at all, like Postfix's smtpd_soft_error_limit, smtpd_error_sleep_time and
// smtpd_hard_error_limit. Unknown recipients are counted per connection and per client address (IPv6: per /64)
// across connections, so reconnecting does not buy a fresh budget. Authenticated submission sessions are not
// counted: staff are accountable, their logins are throttled, and a mistyped address is no attack.

// Defaults for zero HarvestLimits fields.
const (
	DefaultHarvestFree      = 3
	DefaultHarvestLimit     = 10
	DefaultHarvestBaseDelay = time.Second
	DefaultHarvestMaxDelay  = 8 * time.Second
	DefaultHarvestLeak      = time.Minute
	DefaultHarvestCoolFor   = 15 * time.Minute
)

// HarvestLimits set how unknown recipients are answered.
type HarvestLimits struct {
	// Free unknown recipients (per connection, and per client address within the Leak window) are answered at once.
	Free int
	// Limit unknown recipients are answered at all: the next RCPT, known recipient or not, gets 421 4.7.0 and the
	// connection is closed, and the client address is refused at RCPT for CoolFor.
	Limit int
	// BaseDelay holds back the reply to the first unknown recipient past Free, doubling for each further one up to
	// MaxDelay, and at most half the server's WriteTimeout.
	BaseDelay, MaxDelay time.Duration
	// Leak: the count per client address forgets one unknown recipient per Leak.
	Leak time.Duration
	// CoolFor: how long a client address that reached Limit is refused.
	CoolFor time.Duration
}

func (l HarvestLimits) withDefaults() HarvestLimits {
	l.Free = positiveOr(l.Free, DefaultHarvestFree)
	l.Limit = positiveOr(l.Limit, DefaultHarvestLimit)
	l.BaseDelay = positiveOr(l.BaseDelay, DefaultHarvestBaseDelay)
	l.MaxDelay = positiveOr(l.MaxDelay, DefaultHarvestMaxDelay)
	l.Leak = positiveOr(l.Leak, DefaultHarvestLeak)
	l.CoolFor = positiveOr(l.CoolFor, DefaultHarvestCoolFor)
	return l
}

// HarvestGuard keeps the per-address counts; share one between the servers that face the same clients.
type HarvestGuard struct {
	limits  HarvestLimits     // immutable
	strikes *netlimit.Strikes // per client address
	// pause waits d, or less when cancel is closed (the connection is closing); tests replace it.
	pause func(d time.Duration, cancel <-chan struct{})
}

// NewHarvestGuard returns a guard with limits (zero fields: the defaults).
func NewHarvestGuard(limits HarvestLimits) *HarvestGuard {
	return newHarvestGuard(limits, time.Now, sleepUnlessCancelled)
}

func newHarvestGuard(limits HarvestLimits, clock func() time.Time,
	pause func(time.Duration, <-chan struct{})) *HarvestGuard {
	limits = limits.withDefaults()
	return &HarvestGuard{limits: limits, strikes: netlimit.NewStrikes(limits.Leak, clock), pause: pause}
}

func sleepUnlessCancelled(d time.Duration, cancel <-chan struct{}) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-cancel:
	}
}

// harvestClient returns the address block a client's unknown recipients count against; not valid for a connection
// that is not over IP.
func harvestClient(addr net.Addr) netip.Prefix {
	p, _ := netaddr.ParseClient(addr.String())
	return p
}

// harvestState is what the guard knows about a client at a RCPT.
type harvestState struct {
	inConnection int           // unknown recipients so far in this connection
	fromAddress  int           // the client address's count
	cooling      time.Duration // >0: the address is refused for this much longer
}

// check tells whether a client may send one more RCPT. Reaching the limit starts the address's cooling period.
func (g *HarvestGuard) check(client netip.Prefix, inConnection int) (st harvestState, refuse bool) {
	st.inConnection = inConnection
	if client.IsValid() {
		st.fromAddress, st.cooling = g.strikes.State(client)
	}
	if st.cooling > 0 {
		return st, true
	}
	if max(st.inConnection, st.fromAddress) < g.limits.Limit {
		return st, false
	}
	if client.IsValid() {
		g.strikes.Lock(client, g.limits.CoolFor)
	}
	return st, true
}

// unknown counts an unknown recipient and returns how long its reply waits.
func (g *HarvestGuard) unknown(client netip.Prefix, inConnection int, writeTimeout time.Duration) (harvestState,
	time.Duration) {
	st := harvestState{inConnection: inConnection}
	if client.IsValid() {
		st.fromAddress = g.strikes.Add(client)
	}
	return st, g.delay(max(st.inConnection, st.fromAddress), writeTimeout)
}

// delay is the wait for the reply to the n-th unknown recipient: none up to Free, then BaseDelay doubling to
// MaxDelay, and at most half the write timeout, so that a delayed reply is still well within the time the server
// allows any reply.
func (g *HarvestGuard) delay(n int, writeTimeout time.Duration) time.Duration {
	past := n - g.limits.Free
	if past <= 0 {
		return 0
	}
	d := g.limits.MaxDelay
	if past <= 30 { // beyond, the shift would overflow; MaxDelay caps it anyway
		d = min(g.limits.BaseDelay<<(past-1), d)
	}
	return min(d, writeTimeout/2)
}

// The reply to a RCPT from a client that reached the limit; the connection closes after it (RFC 5321 section 3.8).
var errHarvesting = reply(421, gosmtp.EnhancedCode{4, 7, 0},
	"Too many unknown recipients from your address; closing the connection, try again later")

// delayUnknown counts an unknown recipient and holds its reply back as long as the limits ask.
func (s *session) delayUnknown() {
	s.mu.Lock()
	s.unknown++
	st, wait := s.srv.opts.Harvest.unknown(s.client, s.unknown, s.srv.opts.WriteTimeout)
	firstDelay := wait > 0 && !s.slowed
	s.slowed = s.slowed || wait > 0
	s.mu.Unlock()
	if firstDelay {
		s.log.Info("unknown recipients: delaying replies", "client", netaddr.Host(s.conn.RemoteAddr()),
			"unknown_in_connection", st.inConnection, "unknown_from_address", st.fromAddress)
	}
	if wait > 0 {
		s.srv.opts.Harvest.pause(wait, s.done) // with no lock held: Reset and Logout may come meanwhile
	}
}

// forgiveUnknown starts the connection's count again once it has delivered a message, as Postfix's hard error
// limit counts errors "without delivering mail": a server that keeps its connection open for many messages is not
// cut off for stale addresses spread over them. The client address's count stays.
func (s *session) forgiveUnknown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unknown = 0
}

// hangUpForHarvesting refuses a RCPT from a client at the limit, or cooling down after it, and ends the connection.
func (s *session) hangUpForHarvesting(st harvestState) error {
	host := netaddr.Host(s.conn.RemoteAddr())
	reply := replyAttrs(errHarvesting, "too many unknown recipients")
	if st.cooling > 0 {
		s.log.Info("recipient harvesting: client address still refused, closing the connection", append(reply,
			"client", host, "refused_for", st.cooling.Round(time.Second))...)
	} else {
		s.log.Warn("recipient harvesting: too many unknown recipients, closing the connection", append(reply,
			"client", host, "unknown_in_connection", st.inConnection, "unknown_from_address", st.fromAddress,
			"refused_for", s.srv.opts.Harvest.limits.CoolFor)...)
	}
	s.srv.opts.Metrics.ConnectionClosedForHarvesting()
	s.connLog.End("recipient harvesting")
	return s.hangUp(errHarvesting)
}

// hangUp sends r and closes the connection. go-smtp lets a session refuse a command but not end the connection,
// while RFC 5321 section 3.8 has the server close it after a 421: so the reply is written here (go-smtp flushes
// each reply of its own, so none is pending), and go-smtp's attempt to send it again fails on the closed connection,
// as does its next read. Only the network connection is closed: go-smtp ends the session itself when its read
// fails, and a command it had already buffered still finds the session there (and is refused the same way).
func (s *session) hangUp(r *gosmtp.SMTPError) error {
	s.conn.SetWriteDeadline(time.Now().Add(s.srv.opts.WriteTimeout))
	line := fmt.Sprintf("%d %s %s\r\n", r.Code, enhancedCode(r), r.Message)
	if _, err := io.WriteString(s.conn, line); err != nil {
		s.log.Info("closing reply not sent", "err", err)
	}
	s.conn.Close()
	return r
}
