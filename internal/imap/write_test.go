package imap

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"mailserver/internal/message"
	"mailserver/internal/store"
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
	rc, writes := dialCountingWrites(t, ts)
	for _, cmd := range []string{"FETCH 1:* (UID FLAGS)", `STORE 1:* +FLAGS (\Flagged)`} {
		fetches, n := fetchesAndWrites(rc, writes, cmd)
		if fetches != 300 || n > 30 {
			t.Errorf("%s: %d FETCH responses in %d writes, want 300 in a few buffer-sized writes", cmd, fetches, n)
		}
	}
}

// TestFetchBodiesWrittenInLargeWrites: the bodies of a FETCH go to the connection in writes of many messages each,
// not one or two per message: a 20 KiB literal does not fit the connection's 4 KiB buffer, so each went out in a
// write of its own (two per message, 20,000 for a 10,000-message download).
func TestFetchBodiesWrittenInLargeWrites(t *testing.T) {
	ts := newTestServer(t)
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	const messages = 50
	for i := range messages {
		raw := benchMIMEMessage(i)
		if _, err := ts.st.Append(inbox.ID, store.NewMessage{Body: raw, Meta: message.Parse(raw).Meta()}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	rc, writes := dialCountingWrites(t, ts)
	fetches, n := fetchesAndWrites(rc, writes, "FETCH 1:* BODY.PEEK[]")
	// About 1 MB: some 16 writes of 64 KiB.
	if fetches != messages || n > messages/2 {
		t.Errorf("%d FETCH responses in %d writes, want %d in a few large writes", fetches, n, messages)
	}
}

// dialCountingWrites serves ts on a listener that counts the server's writes, and logs in with INBOX selected.
func dialCountingWrites(t *testing.T, ts *testServer) (*rawConn, *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	writes := &atomic.Int64{}
	go ts.srv.Serve(writeCountingListener{Listener: ln, writes: writes})
	rc := dialLoggedIn(t, &testServer{addr: ln.Addr().String()})
	rc.ok("SELECT INBOX")
	return rc, writes
}

// fetchesAndWrites runs cmd and returns the FETCH responses it got and the writes the server made for them.
func fetchesAndWrites(rc *rawConn, writes *atomic.Int64, cmd string) (fetches int, n int64) {
	before := writes.Load()
	lines := rc.ok("%s", cmd)
	n = writes.Load() - before
	for _, l := range lines {
		if strings.HasPrefix(l, "* ") && strings.Contains(l, " FETCH (") {
			fetches++
		}
	}
	return fetches, n
}
