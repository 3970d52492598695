package imap

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
)

// writeCountingListener counts the writes the server makes to its connections.
type writeCountingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l writeCountingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return writeCountingConn{Conn: c, writes: l.writes}, nil
}

type writeCountingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c writeCountingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// TestFetchResponsesWrittenTogether: the FETCH responses of one command (FETCH, STORE) go to the connection in
// buffer-sized writes flushed by the tagged response, not one write (one packet, one TLS record) per message: a
// FETCH of 10,000 messages' flags made 10,004 writes and took ten times as long as Dovecot's.
func TestFetchResponsesWrittenTogether(t *testing.T) {
	ts := newTestServer(t)
	filledInbox(t, ts, 300)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	writes := &atomic.Int64{}
	go ts.srv.Serve(writeCountingListener{Listener: ln, writes: writes})
	rc := dialLoggedIn(t, &testServer{addr: ln.Addr().String()})
	rc.ok("SELECT INBOX")
	for _, cmd := range []string{"FETCH 1:* (UID FLAGS)", `STORE 1:* +FLAGS (\Flagged)`} {
		before := writes.Load()
		lines := rc.ok("%s", cmd)
		n := writes.Load() - before
		fetches := 0
		for _, l := range lines {
			if strings.Contains(l, " FETCH (") {
				fetches++
			}
		}
		if fetches != 300 || n > 30 {
			t.Errorf("%s: %d FETCH responses in %d writes, want 300 in a few buffer-sized writes", cmd, fetches, n)
		}
	}
}
