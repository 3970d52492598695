package outbound

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// DefaultIdleTimeout is a good Client.IdleTimeout: a burst of messages to one agency shares a connection, while
// no connection is held long (servers wait minutes for the next command, RFC 5321 4.5.3.2.7).
const DefaultIdleTimeout = 30 * time.Second

const (
	// closeQuitTimeout bounds the QUIT of each idle connection at Close: shutdown must not wait long on a slow
	// peer, and a connection that carried a message moments ago answers at once if it answers at all.
	closeQuitTimeout = 2 * time.Second
	// maxUses is how many messages one connection carries before it is closed, as Postfix's connection cache
	// does: a long-lived connection would otherwise keep a server's per-connection state forever.
	maxUses = 100
	// maxIdlePerTarget bounds the idle connections kept for one target.
	maxIdlePerTarget = 8
)

// pool keeps sessions that finished a transaction, by target, for the next message to the same place.
//
// Each session counts in parkedOrClosing from park until it is handed out again or closed, so that close can wait
// for every connection the pool holds or is closing.
type pool struct {
	mu              sync.Mutex
	idle            map[string][]*parked // guarded by mu
	closed          bool                 // guarded by mu: no session is parked any more
	parkedOrClosing sync.WaitGroup       // Add under mu while !closed
}

// parked is an idle session and how many messages it has carried.
type parked struct {
	s     *session
	uses  int
	timer *time.Timer
}

// poolKey names what a session was opened for: the address, the name checked in TLS, the TLS policy and the
// credentials. Only a session opened for the same may carry the next message.
func poolKey(t Target) string {
	return fmt.Sprintf("%s\x00%s\x00%d\x00%s", t.Addr, t.Host, t.policy(), t.Username)
}

// take returns an idle session for t, bound to ctx and checked to be alive (RSET), and how many messages it has
// carried; nil when there is none.
func (p *pool) take(ctx context.Context, t Target) (*session, int) {
	key := poolKey(t)
	for {
		p.mu.Lock()
		list := p.idle[key]
		if len(list) == 0 {
			p.mu.Unlock()
			return nil, 0
		}
		pk := list[len(list)-1]
		p.idle[key] = list[:len(list)-1]
		p.mu.Unlock()
		if !pk.timer.Stop() {
			continue // its idle time ran out: the timer is closing it
		}
		p.parkedOrClosing.Done()
		pk.s.stop = context.AfterFunc(ctx, func() { pk.s.conn.Close() })
		// The server may have closed it meanwhile; RSET also ends a transaction the last message left open
		// (every recipient refused).
		if !pk.s.alive() {
			pk.s.close()
			continue
		}
		return pk.s, pk.uses
	}
}

// put parks s for the next message to t for up to idle, or closes it when it cannot carry one. After close, s is
// closed at once, with QUIT within closeQuitTimeout.
func (p *pool) put(t Target, s *session, uses int, idle time.Duration) {
	if s.broken || uses >= maxUses {
		s.close()
		return
	}
	s.stop() // no longer tied to the delivery that used it
	if !p.park(poolKey(t), &parked{s: s, uses: uses}, idle) {
		s.closeIdle(closeQuitTimeout)
	}
}

// park keeps pk for the next message to key until idle runs out, and returns false when the pool is closed. When
// key has maxIdlePerTarget sessions already, pk is closed in the background instead.
func (p *pool) park(key string, pk *parked, idle time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.parkedOrClosing.Add(1)
	if len(p.idle[key]) >= maxIdlePerTarget {
		go func() {
			defer p.parkedOrClosing.Done()
			pk.s.closeIdle(quitTimeout)
		}()
		return true
	}
	if p.idle == nil {
		p.idle = map[string][]*parked{}
	}
	pk.timer = time.AfterFunc(idle, func() { p.expire(key, pk) })
	p.idle[key] = append(p.idle[key], pk)
	return true
}

// expire closes pk once its idle time ran out.
func (p *pool) expire(key string, pk *parked) {
	p.mu.Lock()
	list := p.idle[key]
	for i, other := range list {
		if other == pk {
			p.idle[key] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(p.idle[key]) == 0 {
		delete(p.idle, key)
	}
	p.mu.Unlock()
	pk.s.closeIdle(quitTimeout)
	p.parkedOrClosing.Done()
}

// close ends pooling: every idle session gets QUIT, all at once and each within closeQuitTimeout, and is closed;
// sessions handed back later are closed at once (put). It returns when every session the pool held is closed.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, list := range idle {
		for _, pk := range list {
			if !pk.timer.Stop() {
				continue // its idle time ran out: the timer is closing it
			}
			go func() {
				defer p.parkedOrClosing.Done()
				pk.s.closeIdle(closeQuitTimeout)
			}()
		}
	}
	p.parkedOrClosing.Wait()
}

// rsetTimeout bounds the check of an idle connection: a silently dropped one must not hold the message up for a
// whole command timeout when a new connection would do.
const rsetTimeout = 30 * time.Second

// alive sends RSET on an idle session and reports whether the server answered 250.
func (s *session) alive() bool {
	timeout := s.timeout
	s.timeout = min(timeout, rsetTimeout)
	r, err := s.cmd("RSET")
	s.timeout = timeout
	s.broken = s.broken || err != nil
	return err == nil && r.Code == 250
}
