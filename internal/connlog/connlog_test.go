package connlog

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"mailserver/internal/testlog"
)

// pair is a server-side Conn from a tracked loopback listener and the client's end of it.
type pair struct {
	server *Conn
	client net.Conn
}

func newPair(t *testing.T, tracker *Tracker) pair {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := tracker.Listener(raw, "test", false)
	t.Cleanup(func() { ln.Close() })
	client, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return pair{server: c.(*Conn), client: client}
}

// The disconnect line says why the connection ended: what the reads saw, what the server said, or the orderly end.
func TestDisconnectReasons(t *testing.T) {
	tests := []struct {
		name string
		end  func(p pair, tracker *Tracker)
		want string
	}{
		{"orderly", func(p pair, _ *Tracker) {}, "quit"},
		{"client closed", func(p pair, _ *Tracker) {
			p.client.Close()
			io.Copy(io.Discard, p.server) // until EOF
		}, ReasonClientClosed},
		{"client reset", func(p pair, _ *Tracker) {
			p.client.(*net.TCPConn).SetLinger(0) // close with a reset
			p.client.Close()
			io.Copy(io.Discard, p.server)
		}, ReasonClientClosed},
		{"timeout", func(p pair, _ *Tracker) {
			p.server.SetReadDeadline(time.Now()) // already passed: the read fails at once
			p.server.Read(make([]byte, 1))
		}, ReasonTimeout},
		{"shutdown", func(p pair, tracker *Tracker) { tracker.ShuttingDown() }, ReasonShutdown},
		{"closed at shutdown", func(p pair, tracker *Tracker) { tracker.CloseAll() }, ReasonShutdown},
		{"given by the protocol", func(p pair, _ *Tracker) { p.server.End("recipient harvesting") },
			"recipient harvesting"},
		{"the first reason wins", func(p pair, tracker *Tracker) {
			p.server.End("account disabled")
			tracker.ShuttingDown()
			p.server.SetReadDeadline(time.Now())
			p.server.Read(make([]byte, 1))
		}, "account disabled"},
		{"the server shut its side first", func(p pair, _ *Tracker) {
			p.server.CloseWrite()
			p.client.Close()
			io.Copy(io.Discard, p.server)
		}, ReasonServerClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &testlog.Buffer{}
			tracker := NewTracker(slog.New(slog.NewJSONHandler(logs, nil)), "quit", "messages")
			p := newPair(t, tracker)
			tt.end(p, tracker)
			p.server.Close()
			p.server.Close() // a second close logs nothing more
			opened, closed := find(t, logs, "connected"), find(t, logs, "disconnected")
			if len(opened) != 1 || len(closed) != 1 {
				t.Fatalf("%d connect and %d disconnect lines, want one each", len(opened), len(closed))
			}
			if closed[0]["reason"] != tt.want {
				t.Errorf("reason %v, want %q", closed[0]["reason"], tt.want)
			}
			id := p.server.ID()
			if opened[0]["conn"] != id || closed[0]["conn"] != id || closed[0]["remote"] != p.client.LocalAddr().String() {
				t.Errorf("lines %v and %v, want conn %s and remote %s", opened[0], closed[0], id, p.client.LocalAddr())
			}
			if closed[0]["messages"] != 0.0 {
				t.Errorf("messages %v, want 0 (every disconnect line gives the counts)", closed[0]["messages"])
			}
		})
	}
}

// A failed read other than a timeout or the end of the stream is an error, and the line gives it.
func TestDisconnectAfterAnError(t *testing.T) {
	logs := &testlog.Buffer{}
	c := newConn(failingConn{}, slog.New(slog.NewJSONHandler(logs, nil)), NewTracker(nil, "quit"))
	c.Read(make([]byte, 1))
	c.Close()
	closed := find(t, logs, "disconnected")
	if len(closed) != 1 || closed[0]["reason"] != ReasonError || closed[0]["err"] != "read tcp: connection reset by peer" {
		t.Errorf("disconnect lines %v, want one with reason %q and the error", closed, ReasonError)
	}
}

type failingConn struct{ net.Conn }

func (failingConn) Read([]byte) (int, error) { return 0, errReset }
func (failingConn) Close() error             { return nil }
func (failingConn) RemoteAddr() net.Addr     { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4000} }

var errReset = &net.OpError{Op: "read", Net: "tcp", Err: resetError{}}

type resetError struct{}

func (resetError) Error() string { return "connection reset by peer" }

// Counts and the bytes each way are on the disconnect line; the session's lines carry the connection's ID.
func TestCountsAndSessionLines(t *testing.T) {
	logs := &testlog.Buffer{}
	tracker := NewTracker(slog.New(slog.NewJSONHandler(logs, nil)), "quit", "messages")
	p := newPair(t, tracker)
	p.server.Count("messages")
	p.server.Count("messages")
	p.server.Count("recipients")
	p.server.Write([]byte("220 hello\r\n"))
	p.client.Write([]byte("QUIT\r\n"))
	io.ReadFull(p.server, make([]byte, 6))
	p.server.Logger().Info("a line of the session")
	p.server.Close()
	closed := find(t, logs, "disconnected")[0]
	for key, want := range map[string]float64{"messages": 2, "recipients": 1, "bytes_out": 11, "bytes_in": 6} {
		if closed[key] != want {
			t.Errorf("%s = %v, want %v", key, closed[key], want)
		}
	}
	if line := find(t, logs, "a line of the session"); len(line) != 1 || line[0]["conn"] != p.server.ID() {
		t.Errorf("session line %v, want conn %s", line, p.server.ID())
	}
}

// Of finds the tracked connection under TLS, and stands in for one that is not tracked without logging anything.
func TestOf(t *testing.T) {
	logs := &testlog.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	p := newPair(t, NewTracker(log, "quit"))
	if got := Of(tls.Server(p.server, &tls.Config{}), log); got != p.server {
		t.Errorf("Of(tls.Conn) = %p, want the tracked connection %p", got, p.server)
	}

	client, server := net.Pipe()
	defer client.Close()
	standIn := Of(server, log)
	if standIn.ID() == "" || standIn.ID() == p.server.ID() {
		t.Errorf("stand-in ID %q", standIn.ID())
	}
	standIn.Close()
	if n := len(find(t, logs, "disconnected")); n != 0 {
		t.Errorf("%d disconnect lines for a connection no tracker opened", n)
	}
}

// IDs are short, lower-case and distinct.
func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := NewID()
		if len(id) != 12 || strings.ToLower(id) != id || seen[id] {
			t.Fatalf("ID %q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
}

// find returns the attributes of the lines whose message is msg.
func find(t *testing.T, logs *testlog.Buffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range logs.Find(t, msg) {
		out = append(out, l.Attrs)
	}
	return out
}
