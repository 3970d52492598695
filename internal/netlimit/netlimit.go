// Package netlimit bounds how many connections one client address may hold open at once. Neither go-smtp nor
// go-imap limits connections, so the server wraps each TCP listener before anything else (and before TLS, so that
// the protocol libraries still see a *tls.Conn on top and offer AUTH).
package netlimit

import (
	"mailserver/internal/netaddr"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Limiter counts open connections per client address (IPv6: one /64, which one host usually owns) across every
// listener it wraps, so that, say, the three SMTP listeners share one budget.
type Limiter struct {
	max int // immutable

	mu   sync.Mutex
	open map[netip.Prefix]int
}

// NewLimiter allows max simultaneous connections per client address.
func NewLimiter(max int) *Limiter { return &Limiter{max: max, open: map[netip.Prefix]int{}} }

// Listener wraps ln. A connection over the limit is handed to refuse (which may write a protocol reply saying so;
// it has a short write deadline) and closed; Accept then waits for the next one.
func (l *Limiter) Listener(ln net.Listener, refuse func(net.Conn)) net.Listener {
	return &listener{Listener: ln, limiter: l, refuse: refuse}
}

type listener struct {
	net.Listener
	limiter *Limiter       // immutable
	refuse  func(net.Conn) // immutable; may be nil
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, _ := netaddr.ParseClient(c.RemoteAddr().String())
		if l.limiter.acquire(key) {
			return &conn{Conn: c, release: func() { l.limiter.release(key) }}, nil
		}
		go l.turnAway(c)
	}
}

func (l *listener) turnAway(c net.Conn) {
	defer c.Close()
	if l.refuse != nil {
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		l.refuse(c)
	}
}

func (l *Limiter) acquire(key netip.Prefix) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key] >= l.max {
		return false
	}
	l.open[key]++
	return true
}

func (l *Limiter) release(key netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

// conn gives its slot back when closed, once, however often Close is called.
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
