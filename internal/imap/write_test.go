package imap

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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

// TestStoreResponsesWrittenInLargeWrites: the FETCH responses of a STORE go to the connection in writes of the
// 64 KiB batch buffer, as FETCH's do, not through the connection's 4 KiB buffer, a write per 4 KiB: STORE 1:* of
// 10,000 messages made a hundred writes, of 100,000 a thousand.
func TestStoreResponsesWrittenInLargeWrites(t *testing.T) {
	ts := newTestServer(t)
	filledInbox(t, ts, 300)
	rc, writes := dialCountingWrites(t, ts)
	var keywords []string
	for i := range 10 {
		keywords = append(keywords, fmt.Sprintf("$Phong-Hanh-Chinh-Tong-Hop-%d", i))
	}
	list := "(" + strings.Join(keywords, " ") + ")"
	rc.ok("STORE 1 +FLAGS %s", list) // the FLAGS and PERMANENTFLAGS announcing the keywords go out on their own
	fetches, n := fetchesAndWrites(rc, writes, "STORE 1:* +FLAGS "+list)
	// 300 responses of some 350 bytes: two writes of 64 KiB, and one for the tagged response.
	if fetches != 300 || n > 4 {
		t.Errorf("%d FETCH responses in %d writes, want 300 in a few 64 KiB writes", fetches, n)
	}
}

// TestFlagUpdatesWrittenTogether: another session's STORE over the whole mailbox reaches a session as a run of
// FETCH updates, which go out in buffer-sized writes, not a write per message (10,000 for a STORE 1:* over a
// 10,000-message mailbox, to every other session that has it selected).
func TestFlagUpdatesWrittenTogether(t *testing.T) {
	ts := newTestServer(t)
	filledInbox(t, ts, 300)
	b, writes := dialCountingWrites(t, ts)
	a := dialLoggedIn(t, ts)
	a.ok("SELECT INBOX")
	a.ok(`STORE 1:* +FLAGS (\Flagged)`)
	fetches, n := fetchesAndWrites(b, writes, "NOOP")
	// 300 updates of some 35 bytes: three writes of the connection's 4 KiB buffer, and one for the tagged response.
	if fetches != 300 || n > 6 {
		t.Errorf("%d FETCH updates in %d writes, want 300 in a few buffer-sized writes", fetches, n)
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

// deadlineCountingListener counts the write deadlines set on its connections and keeps each one at most limit
// ahead (go-imap's 30 s becomes limit), with a small socket send buffer so that a client that stops reading
// blocks the server's writes after a few kilobytes.
type deadlineCountingListener struct {
	net.Listener
	deadlines *atomic.Int64
	limit     time.Duration
}

func (l deadlineCountingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(8 << 10)
	}
	return deadlineCountingConn{shortWriteDeadlineConn{c, l.limit}, l.deadlines}, nil
}

type deadlineCountingConn struct {
	shortWriteDeadlineConn
	deadlines *atomic.Int64
}

func (c deadlineCountingConn) SetWriteDeadline(t time.Time) error {
	c.deadlines.Add(1)
	return c.shortWriteDeadlineConn.SetWriteDeadline(t)
}

// dialCountingDeadlines serves ts on a deadlineCountingListener and logs in with INBOX selected.
func dialCountingDeadlines(t *testing.T, ts *testServer, limit time.Duration) (*rawConn, *atomic.Int64) {
	deadlines := &atomic.Int64{}
	addr := ts.listen(t, func(ln net.Listener) error {
		return ts.srv.Serve(deadlineCountingListener{Listener: ln, deadlines: deadlines, limit: limit})
	})
	rc := dialLoggedIn(t, &testServer{addr: addr})
	rc.ok("SELECT INBOX")
	return rc, deadlines
}

// TestFetchSetsFewWriteDeadlines: a FETCH of many messages sets the connection's write deadline once per write
// to the socket, not twice per response: setting and clearing it for each of 10,000 responses cost about 12 ms
// of a 100 ms metadata FETCH.
func TestFetchSetsFewWriteDeadlines(t *testing.T) {
	ts := newTestServer(t)
	filledInbox(t, ts, 300)
	rc, deadlines := dialCountingDeadlines(t, ts, 30*time.Second)
	before := deadlines.Load()
	lines := rc.ok("FETCH 1:* (UID FLAGS)")
	if n := deadlines.Load() - before; len(lines) != 300 || n > 30 {
		t.Errorf("%d FETCH responses set the write deadline %d times, want 300 responses and a few deadlines",
			len(lines), n)
	}
}

// TestStalledClientIsCutOff: a client that sends FETCH and stops reading cannot hold its session: the server's
// write blocks, its deadline passes (kept at 200 ms here through the listener) and the connection ends, in the
// middle of a FETCH whose responses are gathered in a large buffer as in any other command.
func TestStalledClientIsCutOff(t *testing.T) {
	ts := newTestServer(t)
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 { // about 1 MB, far more than the socket buffers hold
		raw := benchMIMEMessage(i)
		if _, err := ts.st.Append(inbox.ID, store.NewMessage{Body: raw, Meta: message.Parse(raw).Meta()}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	rc, _ := dialCountingDeadlines(t, ts, 200*time.Millisecond)
	if tc, ok := rc.c.(*net.TCPConn); ok {
		tc.SetReadBuffer(8 << 10)
	}
	if _, err := io.WriteString(rc.c, "T9 FETCH 1:* BODY.PEEK[]\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // not reading, well past the deadline
	if status := readToEnd(rc, "T9"); status != "" {
		t.Fatalf("a client that stopped reading got %q at the end of its FETCH instead of being cut off", status)
	}
}

// readToEnd reads until the server closes the connection and returns the status line of tag it got on the way,
// "" if none; a connection still open after 5 s without a byte fails the test.
func readToEnd(rc *rawConn, tag string) (status string) {
	rc.t.Helper()
	for {
		rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := rc.r.ReadString('\n')
		if strings.HasPrefix(line, tag+" ") {
			status = strings.TrimSpace(line)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return status
		}
		if err != nil {
			rc.t.Fatalf("read: %v; the connection was not closed (status so far %q)", err, status)
		}
	}
}
