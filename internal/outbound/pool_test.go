package outbound

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
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
	deliverInParallel(t, c, ts, 6, 5)()
	if sessions, _, mails, _, _ := ts.received(); len(mails) != 30 || sessions > 6 {
		t.Errorf("%d messages over %d connections; want 30 over at most 6", len(mails), sessions)
	}
}

// deliverInParallel starts workers goroutines that each deliver messages messages to ts through c, one after
// another, failing the test for any not delivered; wait waits for them all.
func deliverInParallel(t *testing.T, c *Client, ts *testServer, workers, messages int) (wait func()) {
	env := Envelope{From: sender, Recipients: []string{"a@other.gov.vn"}}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range messages {
				if res := c.Deliver(testCtx(t), []Target{target(ts.addr, TLSNone)}, env, []byte(testMessage)); !res[0].Delivered {
					t.Errorf("%+v", res[0])
				}
			}
		})
	}
	return wg.Wait
}

// Close, as at shutdown, says QUIT on every idle connection and closes it, rather than leaving the peers an open
// connection for the rest of IdleTimeout.
func TestCloseQuitsIdleConnections(t *testing.T) {
	ts := newTestServer(t, nil)
	c := testClient()
	c.IdleTimeout = time.Hour
	env := Envelope{From: sender, Recipients: []string{"a@other.gov.vn"}}
	for _, tg := range []Target{target(ts.addr, TLSNone), target(ts.addr, TLSOpportunistic)} {
		if res := c.Deliver(testCtx(t), []Target{tg}, env, []byte(testMessage)); !res[0].Delivered {
			t.Fatalf("%+v: %+v", tg, res[0])
		}
	}
	if opened, ended, quits := ts.connections(); opened != 2 || ended != 0 || quits != 0 {
		t.Fatalf("before Close: %d connections, %d ended, %d QUIT; want 2 idle ones", opened, ended, quits)
	}
	c.Close()
	ts.waitConnections(t, 2)
}

// A connection a delivery holds while Close runs is closed with QUIT when the delivery is done with it, not parked;
// so is every connection of later deliveries.
func TestConnectionHandedBackAfterCloseIsClosed(t *testing.T) {
	inData, release := make(chan struct{}), make(chan struct{})
	var holdFirst sync.Once
	ts := newTestServer(t, func(_ *gosmtp.Server, ts *testServer) {
		ts.beforeData = func() {
			holdFirst.Do(func() {
				close(inData)
				<-release
			})
		}
	})
	c := testClient()
	c.IdleTimeout = time.Hour
	env := Envelope{From: sender, Recipients: []string{"a@other.gov.vn"}}
	results := make(chan Result, 1)
	go func() {
		results <- c.Deliver(testCtx(t), []Target{target(ts.addr, TLSNone)}, env, []byte(testMessage))[0]
	}()
	select {
	case <-inData:
	case <-time.After(10 * time.Second):
		t.Fatal("the message never reached DATA")
	}
	c.Close() // nothing is idle: returns while the delivery holds its connection
	close(release)
	select {
	case res := <-results:
		if !res.Delivered {
			t.Fatalf("the delivery under way at Close: %+v", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the delivery under way at Close never finished")
	}
	ts.waitConnections(t, 1)
	if res := c.Deliver(testCtx(t), []Target{target(ts.addr, TLSNone)}, env, []byte(testMessage)); !res[0].Delivered {
		t.Fatalf("after Close: %+v", res[0])
	}
	ts.waitConnections(t, 2)
}

// Close while deliveries run, some connections idle and some expiring, leaves no connection open (run with -race).
func TestCloseWhileDeliveriesRun(t *testing.T) {
	ts := newTestServer(t, nil)
	c := testClient()
	c.IdleTimeout = 20 * time.Millisecond
	wait := deliverInParallel(t, c, ts, 4, 10)
	deadline := time.Now().Add(10 * time.Second)
	for _, _, mails, _, _ := ts.received(); len(mails) < 8 && time.Now().Before(deadline); _, _, mails, _, _ = ts.received() {
		time.Sleep(time.Millisecond)
	}
	c.Close()
	wait()
	opened, _, _ := ts.connections()
	ts.waitConnections(t, opened)
}
