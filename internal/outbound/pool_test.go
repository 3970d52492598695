package outbound

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Messages to one target one after another share a connection while it is idle for less than IdleTimeout; after
// that it is closed with QUIT and the next message opens a new one.
func TestConnectionReused(t *testing.T) {
	ts := newTestServer(t, nil)
	c := testClient()
	c.IdleTimeout = time.Second
	env := Envelope{From: sender, Recipients: []string{"a@other.gov.vn"}}
	for i := range 3 {
		res := c.Deliver(testCtx(t), []Target{target(ts.addr, TLSNone)}, env, []byte(testMessage))
		if !res[0].Delivered {
			t.Fatalf("message %d: %+v", i+1, res[0])
		}
	}
	if sessions, mailCmds, _, _, _ := ts.received(); sessions != 1 || mailCmds != 3 {
		t.Fatalf("%d connections for %d messages, want 1 for 3", sessions, mailCmds)
	}
	// Idle for longer than IdleTimeout: closed politely, and the next message opens a new connection.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, _, _, wire := ts.received(); strings.Contains(wire, "QUIT") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the idle connection was never closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res := c.Deliver(testCtx(t), []Target{target(ts.addr, TLSNone)}, env, []byte(testMessage)); !res[0].Delivered {
		t.Fatalf("after the idle connection closed: %+v", res[0])
	}
	if sessions, _, _, _, _ := ts.received(); sessions != 2 {
		t.Errorf("%d connections, want 2", sessions)
	}
}

// A pooled connection the server dropped meanwhile is noticed (RSET fails) and replaced, and nothing is lost.
func TestDroppedIdleConnectionReplaced(t *testing.T) {
	ts := newTestServer(t, nil)
	var mu sync.Mutex
	var conns []net.Conn
	c := testClient()
	c.IdleTimeout = time.Minute
	c.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		mu.Lock()
		conns = append(conns, conn)
		mu.Unlock()
		return conn, err
	}
	env := Envelope{From: sender, Recipients: []string{"a@other.gov.vn"}}
	if res := c.Deliver(testCtx(t), []Target{target(ts.addr, TLSNone)}, env, []byte(testMessage)); !res[0].Delivered {
		t.Fatalf("first message: %+v", res[0])
	}
	mu.Lock()
	conns[0].Close() // as if the server had timed the idle connection out
	mu.Unlock()
	if res := c.Deliver(testCtx(t), []Target{target(ts.addr, TLSNone)}, env, []byte(testMessage)); !res[0].Delivered {
		t.Fatalf("after the idle connection dropped: %+v", res[0])
	}
	if _, mailCmds, mails, _, _ := ts.received(); mailCmds != 2 || len(mails) != 2 {
		t.Errorf("%d MAIL commands, %d messages; want 2 and 2", mailCmds, len(mails))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(conns) != 2 {
		t.Errorf("%d connections, want 2", len(conns))
	}
}

// A connection is only reused for the same target under the same TLS policy and credentials.
func TestConnectionNotSharedAcrossPolicies(t *testing.T) {
	ts := newTestServer(t, nil)
	c := testClient()
	c.IdleTimeout = time.Minute
	env := Envelope{From: sender, Recipients: []string{"a@other.gov.vn"}}
	for _, tg := range []Target{target(ts.addr, TLSNone), target(ts.addr, TLSOpportunistic),
		{Host: "other.example", Addr: ts.addr, TLS: TLSNone, Via: "route"}} {
		if res := c.Deliver(testCtx(t), []Target{tg}, env, []byte(testMessage)); !res[0].Delivered {
			t.Fatalf("%+v: %+v", tg, res[0])
		}
	}
	if sessions, _, _, _, _ := ts.received(); sessions != 3 {
		t.Errorf("%d connections for three different targets, want 3", sessions)
	}
}

// Deliveries in parallel each get a connection of their own, and hand it on when done.
func TestConnectionPoolConcurrent(t *testing.T) {
	ts := newTestServer(t, nil)
	c := testClient()
	c.IdleTimeout = time.Minute
	env := Envelope{From: sender, Recipients: []string{"a@other.gov.vn"}}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for range 5 {
				if res := c.Deliver(testCtx(t), []Target{target(ts.addr, TLSNone)}, env, []byte(testMessage)); !res[0].Delivered {
					t.Errorf("%+v", res[0])
				}
			}
		})
	}
	wg.Wait()
	if sessions, _, mails, _, _ := ts.received(); len(mails) != 30 || sessions > 6 {
		t.Errorf("%d messages over %d connections; want 30 over at most 6", len(mails), sessions)
	}
}
