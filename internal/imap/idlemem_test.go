package imap

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// dialIdle opens an implicit-TLS connection, logs in, selects INBOX and starts IDLE, as a mail client does between
// its checks. Its reader is small so that the client's side of the connection adds little to what is measured.
func dialIdle(t testing.TB, ts *testServer) *rawConn {
	t.Helper()
	c, err := tls.Dial("tcp", ts.tlsAddr, ts.clientTL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rc := &rawConn{t: t, c: c, r: bufio.NewReaderSize(c, 256)}
	rc.readLine() // greeting
	rc.ok("LOGIN %s %q", testUser, testPassword)
	rc.ok("SELECT INBOX")
	rc.startIdle()
	return rc
}

// settledGoroutines waits, at most 5 s, for the goroutine count to fall to want or below, and returns it.
func settledGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 100 && n > want; i++ {
		time.Sleep(50 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// quietGoroutines waits, at most 2 s, until the goroutine count has not changed for 100 ms.
func quietGoroutines() {
	n, same := runtime.NumGoroutine(), 0
	for i := 0; i < 100 && same < 5; i++ {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			same++
		} else {
			n, same = m, 0
		}
	}
}

// A connection in IDLE costs the server one goroutine, the one waiting for DONE: none waits for updates, yet a
// delivery reaches every idling client at once.
func TestIdleConnectionsCostOneGoroutineEach(t *testing.T) {
	ts := newTestServer(t)
	const n = 40
	before := runtime.NumGoroutine()
	conns := make([]*rawConn, n)
	for i := range conns {
		conns[i] = dialIdle(t, ts)
	}
	// The server's connection goroutines, and a few to spare for the server's and the test's own (the client side
	// needs none).
	if got := settledGoroutines(before + n + 5); got > before+n+5 {
		t.Errorf("%d connections in IDLE run %d goroutines, want one each", n, got-before)
	}
	if err := deliverEach(ts.st, testUser, [][]byte{[]byte("Subject: mới\r\n\r\nThư mới.\r\n")}); err != nil {
		t.Fatal(err)
	}
	for i, rc := range conns {
		if line := rc.readLine(); line != "* 1 EXISTS" {
			t.Errorf("connection %d, during IDLE: %q, want * 1 EXISTS", i, line)
		}
		fmt.Fprintf(rc.c, "DONE\r\n")
		tag := fmt.Sprintf("T%d", rc.tag)
		if lines := rc.untilTagged(tag); !strings.Contains(lines, tag+" OK") {
			t.Errorf("connection %d, IDLE: %q", i, lines)
		}
	}
}

// A connection in IDLE holds no read or write buffer and only one goroutine's stack.
func TestIdleConnectionMemory(t *testing.T) {
	ts := newTestServer(t)
	perConn := idleConnMemory(t, ts, 100)
	t.Logf("%.0f bytes per idle TLS connection, both sides", perConn)
	if perConn > maxIdleConnMemory {
		t.Errorf("an idle TLS connection holds %.0f bytes, want at most %d", perConn, maxIdleConnMemory)
	}
}

// BenchmarkIdleConnection reports the memory one idle TLS connection holds, the server's side and the client's
// (live heap and stacks after a collection). Run it with a fixed count, say -benchtime 1000x: every iteration
// keeps a connection open.
func BenchmarkIdleConnection(b *testing.B) {
	ts := newTestServer(b)
	n := 0
	start := liveMemory()
	for b.Loop() {
		dialIdle(b, ts)
		n++
	}
	b.ReportMetric(float64(liveMemory()-start)/float64(n), "B/idle-conn")
}

// idleConnMemory opens n connections in IDLE and returns the memory each added.
func idleConnMemory(t testing.TB, ts *testServer, n int) float64 {
	t.Helper()
	dialIdle(t, ts) // the first connection of a server allocates what all later ones share
	before := liveMemory()
	for range n {
		dialIdle(t, ts)
	}
	return float64(liveMemory()-before) / float64(n)
}

// liveMemory is the heap and the goroutine stacks in use after two collections (the second drops what buffer
// pools kept through the first), once the goroutines of connections closed earlier have ended.
func liveMemory() int64 {
	quietGoroutines()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc + ms.StackInuse)
}

// An idle connection waits for its client on a goroutine started for the wait, not on top of the command it served
// last: the stack that the TLS handshake, the login and the commands grew (8 KiB) would stay, since the runtime
// halves a stack only when less than a quarter of it is used, where a fresh goroutine's stays at 4 KiB.
func TestIdleConnectionWaitsOnAFreshStack(t *testing.T) {
	ts := newTestServer(t)
	const n = 10
	for range n {
		dialIdle(t, ts)
	}
	quietGoroutines()
	buf := make([]byte, 1<<20)
	stacks := strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n")
	waiting := 0
	for _, stack := range stacks {
		if !strings.Contains(stack, "imapserver.(*inputReader).readAhead") {
			continue
		}
		waiting++
		if strings.Contains(stack, "imapserver.(*Conn).readCommand") {
			t.Errorf("an idle connection waits inside a command's frames:\n%s", stack)
			break
		}
	}
	if waiting != n {
		t.Errorf("%d goroutines wait for a client, want %d", waiting, n)
	}
}
