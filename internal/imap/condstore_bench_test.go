package imap

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"mailserver/internal/store"
)

// countingConn counts the bytes read from the server.
type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// reconnectBench is a 10,000-message INBOX whose client cached UIDVALIDITY and HIGHESTMODSEQ before another
// session changed the flags of 10 messages.
type reconnectBench struct {
	ts                    *testServer
	uidValidity           uint32
	cachedModSeq, changed uint64
}

func newReconnectBench(b *testing.B) reconnectBench {
	ts := benchServer(b)
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	var uids []uint32
	for i := range 10 {
		uids = append(uids, uint32(1+i*benchMessages/10))
	}
	if _, err := ts.st.SetFlags(inbox.ID, uids, store.FlagsAdd, []string{`\Seen`, "$DaXuLy"}, nil); err != nil {
		b.Fatal(err)
	}
	return reconnectBench{ts: ts, uidValidity: inbox.UIDValidity, cachedModSeq: inbox.HighestModSeq, changed: 10}
}

// reconnect logs in on a new connection, runs the commands, checks that want FETCH responses came back, and
// returns the bytes the server sent.
func (rb reconnectBench) reconnect(b *testing.B, want int, commands ...string) int64 {
	c, err := net.Dial("tcp", rb.ts.addr)
	if err != nil {
		b.Fatal(err)
	}
	var read atomic.Int64
	rc := newRawConn(b, countingConn{Conn: c, read: &read})
	rc.ok("LOGIN %s %q", testUser, testPassword)
	fetches := 0
	for _, cmd := range commands {
		for _, line := range rc.ok("%s", cmd) {
			if strings.Contains(line, " FETCH (") {
				fetches++
			}
		}
	}
	rc.ok("LOGOUT")
	c.Close()
	if fetches != want {
		b.Fatalf("%d FETCH responses, want %d", fetches, want)
	}
	return read.Load()
}

// BenchmarkQResyncReconnect10k: a client comes back to a 10,000-message INBOX after 10 flag changes and resyncs
// with SELECT (QRESYNC ...): only the 10 changed messages come back.
func BenchmarkQResyncReconnect10k(b *testing.B) {
	rb := newReconnectBench(b)
	selectCmd := fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d 1:*))", rb.uidValidity, rb.cachedModSeq)
	var bytes int64
	b.ResetTimer()
	for b.Loop() {
		bytes = rb.reconnect(b, int(rb.changed), "ENABLE QRESYNC", selectCmd)
	}
	b.ReportMetric(float64(bytes), "bytes/reconnect")
}

// BenchmarkFullFlagsReconnect10k is the same reconnect without QRESYNC: SELECT, then every message's UID and flags.
func BenchmarkFullFlagsReconnect10k(b *testing.B) {
	rb := newReconnectBench(b)
	var bytes int64
	b.ResetTimer()
	for b.Loop() {
		bytes = rb.reconnect(b, benchMessages, "SELECT INBOX", "UID FETCH 1:* (FLAGS)")
	}
	b.ReportMetric(float64(bytes), "bytes/reconnect")
}
