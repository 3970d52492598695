package smtp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailserver/internal/auth"
	"mailserver/internal/delivery"
)

const (
	fuzzMaxInput = 64 << 10
	// fuzzRunTime bounds one input's exchange. The client's side of the connection ends after the input, so a
	// healthy server has answered and closed the connection long before.
	fuzzRunTime = 20 * time.Second
)

// fuzzEpilogue follows every input: it ends a DATA transfer left open, then asks for a NOOP and says QUIT. A server
// still in step with the client answers and closes the connection; one that is not (inside a BDAT chunk, say)
// reads the end of the client's bytes and closes it.
const fuzzEpilogue = "\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n"

// FuzzSMTPSession sends raw client bytes to the real MX or submission server (the one the other tests use, with its
// store) and checks that the server never panics, never hangs, and afterwards either answers NOOP and QUIT or closes
// the connection. The seed corpus in testdata/fuzz/FuzzSMTPSession holds the dialogs' client lines and the
// smuggling forms.
func FuzzSMTPSession(f *testing.F) {
	fz := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, submission bool, input []byte) {
		// A longer input only costs time: its first fuzzMaxInput bytes exercise the same paths.
		fz.run(t, submission, input[:min(len(input), fuzzMaxInput)])
	})
}

// fuzzServer is the MX and submission servers of one test setup, served over in-memory pipes.
type fuzzServer struct {
	mx, sub *pipeListener
	panics  *panicWatch
}

func newFuzzServer(f *testing.F) *fuzzServer {
	clock := &jumpClock{now: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	panics := &panicWatch{}
	e, opts := newTestSetup(f)
	logger := slog.New(panics)
	opts.Logger = logger
	opts.Deliverer = delivery.New(e.st, hostname, logger, nil)
	opts.AllowInsecureAuth = true // the pipes are "loopback": AUTH without TLS, so that inputs reach it
	// Failed logins and unknown recipients are counted, but the clocks jump a day at every look, so that no input
	// inherits a delay or a lockout from the ones before.
	th := auth.NewThrottle(clock.jump)
	opts.Auth = testAuthenticator{throttle: th, real: auth.NewAuthenticator(e.st, th)}
	opts.Harvest = newHarvestGuard(HarvestLimits{}, clock.jump, func(time.Duration, <-chan struct{}) {})
	fz := &fuzzServer{mx: newPipeListener(), sub: newPipeListener(), panics: panics}
	serveOn(f, NewMX(opts), fz.mx)
	serveOn(f, NewSubmission(opts), fz.sub)
	return fz
}

func serveOn(f *testing.F, srv *Server, ln *pipeListener) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		<-done
	})
}

// run sends input and the epilogue on a new connection, ends its side of it, and reads everything the server says
// until it closes the connection.
func (fz *fuzzServer) run(t *testing.T, submission bool, input []byte) {
	ln := fz.mx
	if submission {
		ln = fz.sub
	}
	conn := ln.dial()
	defer conn.Close()
	hung := time.AfterFunc(fuzzRunTime, func() { conn.Close() })
	out := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(conn) // until the server closes the connection, or the bound above
		out <- b
	}()
	// Write errors are expected: the server may close the connection halfway through the input.
	conn.Write(input)
	conn.Write([]byte(fuzzEpilogue))
	conn.CloseWrite() // whatever the server still waits for will not come
	said := <-out
	if msg := fz.panics.take(); msg != "" {
		t.Fatalf("the server panicked: %s", msg)
	}
	if !hung.Stop() {
		t.Fatalf("the server neither closed the connection nor answered QUIT within %v; it said: %q",
			fuzzRunTime, tail(said))
	}
	if !bytes.HasPrefix(said, []byte("220 ")) {
		t.Fatalf("no greeting: %q", tail(said))
	}
	// Every reply is whole: the server never closes the connection in the middle of one (after STARTTLS the bytes
	// are TLS records instead).
	if !bytes.HasSuffix(said, []byte("\r\n")) && !bytes.Contains(said, []byte("Ready to start TLS")) {
		t.Fatalf("the connection ended inside a reply: %q", tail(said))
	}
}

// tail is the end of b, for a failure message.
func tail(b []byte) []byte {
	return b[max(0, len(b)-2000):]
}

// jumpClock moves a day forward every time it is read.
type jumpClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *jumpClock) jump() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(24 * time.Hour)
	return c.now
}

// panicWatch is a slog handler that drops every record but remembers those about a panic (go-smtp recovers a
// panic in a command handler or in the BDAT goroutine and reports it through the server's ErrorLog).
type panicWatch struct {
	mu  sync.Mutex
	msg string
}

func (p *panicWatch) Enabled(context.Context, slog.Level) bool { return true }
func (p *panicWatch) WithAttrs([]slog.Attr) slog.Handler       { return p }
func (p *panicWatch) WithGroup(string) slog.Handler            { return p }

func (p *panicWatch) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		p.mu.Lock()
		p.msg += r.Message + "\n"
		p.mu.Unlock()
	}
	return nil
}

// take returns the panics reported since the last call.
func (p *panicWatch) take() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	msg := p.msg
	p.msg = ""
	return msg
}

// pipeListener hands the server one end of in-memory connections (memConn) whose remote address is a loopback one.
type pipeListener struct {
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
}

var pipeAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// dial returns the client's end of a new connection.
func (l *pipeListener) dial() *memConn {
	client, server := memPipe()
	select {
	case l.conns <- server:
	case <-l.closed:
		server.Close()
	}
	return client
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr }

// memConn is one end of an in-memory connection that, unlike net.Pipe, can be closed for writing only, so that the
// server reads the end of the client's bytes at once instead of waiting for a timeout. Deadlines are accepted and
// ignored (the fuzz target bounds each exchange itself), but fail once the connection is closed, as a socket's do.
type memConn struct {
	r      *io.PipeReader
	w      *io.PipeWriter
	closed atomic.Bool
}

func memPipe() (client, server *memConn) {
	toServer, fromClient := io.Pipe()
	toClient, fromServer := io.Pipe()
	return &memConn{r: toClient, w: fromClient}, &memConn{r: toServer, w: fromServer}
}

func (c *memConn) Read(p []byte) (int, error)  { n, err := c.r.Read(p); return n, closedErr(err) }
func (c *memConn) Write(p []byte) (int, error) { n, err := c.w.Write(p); return n, closedErr(err) }
func (c *memConn) CloseWrite() error           { return c.w.Close() }

func (c *memConn) Close() error {
	c.closed.Store(true)
	c.r.Close()
	return c.w.Close()
}

// closedErr reports a pipe closed at this end as a closed network connection, as go-smtp expects of a socket.
func closedErr(err error) error {
	if errors.Is(err, io.ErrClosedPipe) {
		return net.ErrClosed
	}
	return err
}

func (c *memConn) LocalAddr() net.Addr              { return pipeAddr }
func (c *memConn) RemoteAddr() net.Addr             { return pipeAddr }
func (c *memConn) SetDeadline(time.Time) error      { return c.deadlineErr() }
func (c *memConn) SetReadDeadline(time.Time) error  { return c.deadlineErr() }
func (c *memConn) SetWriteDeadline(time.Time) error { return c.deadlineErr() }

func (c *memConn) deadlineErr() error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	return nil
}
