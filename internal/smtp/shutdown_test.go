package smtp

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// shutdownReply is what a connection gets when the server stops (RFC 5321 section 3.8).
const shutdownReply = "421 4.3.2 Service shutting down, try again later"

// newShutdownEnv serves one MX server and returns it with its address, for tests that stop it.
func newShutdownEnv(t *testing.T) (*testEnv, *Server, string) {
	t.Helper()
	e, opts := newTestSetup(t)
	srv := NewMX(opts)
	return e, srv, e.serve(srv, false)
}

// halfSent starts a message to an@ on a new connection to addr and sends part of it.
func halfSent(t *testing.T, addr, part string) *rawClient {
	t.Helper()
	c := dialRaw(t, addr)
	c.startData()
	c.write(part)
	return c
}

// startData opens a transaction for an@ and sends DATA.
func (c *rawClient) startData() {
	c.t.Helper()
	for _, cmd := range []string{"EHLO mx.other.example\r\n", "MAIL FROM:<x@other.example>\r\n",
		"RCPT TO:<an@" + domain + ">\r\n"} {
		if r := c.cmd(cmd); !strings.HasPrefix(r, "250") {
			c.t.Fatalf("%q: %q", cmd, r)
		}
	}
	if r := c.cmd("DATA\r\n"); !strings.HasPrefix(r, "354") {
		c.t.Fatalf("DATA: %q", r)
	}
}

// shutdownInBackground starts srv.Shutdown with a bound and returns where its result arrives.
func shutdownInBackground(srv *Server, bound time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	return done
}

// wantClosedAfter reads the reply a stopping server sends, then the end of the connection.
func (c *rawClient) wantClosedAfter(reply string) {
	c.t.Helper()
	if got := c.reply(); got != reply {
		c.t.Fatalf("got %q, want %q", got, reply)
	}
	if rest, err := io.ReadAll(c.r); err != nil || len(rest) > 0 {
		c.t.Fatalf("after %q: read %q, %v; want the connection closed", reply, rest, err)
	}
}

// A connection between transactions, or that has not even said EHLO, is told at once that the server stops and is
// closed: it does not hold the shutdown until the client leaves.
func TestShutdownEndsIdleConnections(t *testing.T) {
	_, srv, addr := newShutdownEnv(t)
	greeted := dialRaw(t, addr)
	if r := greeted.cmd("EHLO mx.other.example\r\n"); !strings.HasPrefix(r, "250") {
		t.Fatalf("EHLO: %q", r)
	}
	silent := dialRaw(t, addr)
	done := shutdownInBackground(srv, 20*time.Second)
	greeted.wantClosedAfter(shutdownReply)
	silent.wantClosedAfter(shutdownReply)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// A transaction under way when the server stops is finished: its message is stored and acknowledged, and only then
// does the connection get the 421 and close.
func TestShutdownLetsTheTransactionFinish(t *testing.T) {
	e, srv, addr := newShutdownEnv(t)
	c := halfSent(t, addr, "From: x@other.example\r\nSubject: =?UTF-8?Q?B=C3=A1o_c=C3=A1o?=\r\n\r\nPhần đầu,\r\n")
	// An idle connection told to go shows that the shutdown is under way while the message is half sent.
	idle := dialRaw(t, addr)
	done := shutdownInBackground(srv, 20*time.Second)
	idle.wantClosedAfter(shutdownReply)
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) while a message was being received", err)
	default:
	}
	if r := c.cmd("phần cuối.\r\n.\r\n"); !strings.HasPrefix(r, "250 2.0.0") {
		t.Fatalf("end of DATA during shutdown: %q", r)
	}
	c.wantClosedAfter(shutdownReply)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if inbox := e.inbox("an@" + domain); len(inbox) != 1 || !strings.HasSuffix(inbox[0], "phần cuối.\r\n") {
		t.Fatalf("INBOX after the shutdown: %q", inbox)
	}
}

// A transaction that outlasts the shutdown's bound is cut by Close, also after Shutdown has begun (go-smtp's own
// Close did nothing then), and its message is neither acknowledged nor stored.
func TestCloseAfterShutdownEndsTheConnectionsLeft(t *testing.T) {
	e, srv, addr := newShutdownEnv(t)
	c := halfSent(t, addr, "Subject: never finished\r\n\r\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the bound is over at once
	if err := srv.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with its bound over: %v, want context.Canceled", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("Close after Shutdown: %v", err)
	}
	// The server closes with the client's last bytes unread, so the end may come as a reset.
	var netErr net.Error
	if rest, err := io.ReadAll(c.r); len(rest) > 0 || errors.As(err, &netErr) && netErr.Timeout() {
		t.Fatalf("after Close: read %q, %v; want the connection closed", rest, err)
	}
	if err := srv.Close(); !errors.Is(err, gosmtp.ErrServerClosed) {
		t.Errorf("second Close: %v, want ErrServerClosed", err)
	}
	if inbox := e.inbox("an@" + domain); len(inbox) != 0 {
		t.Fatalf("INBOX after a cut transfer: %q", inbox)
	}
}

// A connection that has begun a transaction and sends nothing more (a connection pool parks one after all its
// recipients were refused, and says RSET only when it reuses it) gets the 421 once it has been silent for the
// shutdown's command timeout: it does not hold the shutdown for its whole bound.
func TestShutdownEndsAParkedTransaction(t *testing.T) {
	_, srv, addr := newShutdownEnv(t)
	srv.smtp.ShutdownCommandTimeout = 200 * time.Millisecond
	c := dialRaw(t, addr)
	for _, cmd := range []string{"EHLO mx.other.example\r\n", "MAIL FROM:<x@other.example>\r\n"} {
		if r := c.cmd(cmd); !strings.HasPrefix(r, "250") {
			t.Fatalf("%q: %q", cmd, r)
		}
	}
	if r := c.cmd("RCPT TO:<khongco@" + domain + ">\r\n"); !strings.HasPrefix(r, "550") {
		t.Fatalf("RCPT of an unknown user: %q", r)
	}
	done := shutdownInBackground(srv, time.Minute)
	c.wantClosedAfter(shutdownReply)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}
