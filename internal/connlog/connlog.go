// Package connlog names every client connection and logs its beginning and its end, so that an operator can grep
// one ID and read one client's session. A protocol server wraps its TCP listeners with a Tracker (below any TLS:
// go-smtp and go-imap detect TLS by a *tls.Conn type assertion), takes the Conn back from each connection it is
// handed (Of), logs through the Conn's Logger, and says why the connection ends when it closes it itself (End).
//
// Why a connection ended is known for certain only in some cases: a read that timed out or failed, the client's
// end of the stream, the server's shutdown, or a reason the protocol gave. A connection the server closed with none
// of those ended in order: the client's QUIT or LOGOUT (or a clean TLS close, which reads cannot see below TLS).
package connlog

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Reasons a connection ends, as the disconnect line gives them (besides the Tracker's orderly reason and those a
// protocol passes to End).
const (
	ReasonTimeout      = "timeout"         // a read or write deadline passed
	ReasonClientClosed = "client closed"   // the client ended the stream, or reset it, without an orderly goodbye
	ReasonError        = "error"           // a read or write failed; the line carries the error
	ReasonShutdown     = "server shutdown" // the server stopped while the connection was open
	// ReasonServerClosed: the server shut its side early (an over-long line, say); what the client does after
	// that explains nothing.
	ReasonServerClosed = "closed by the server"
)

// NewID returns a fresh connection ID: 12 random base32 characters (60 bits), unique across runs without any
// state, in lower case so that it does not look like a message ID.
func NewID() string { return strings.ToLower(rand.Text()[:12]) }

// Tracker names and logs the connections of one server's listeners. It is safe for concurrent use.
type Tracker struct {
	log     *slog.Logger // immutable
	orderly string       // immutable: the reason for a connection the server closed without another reason
	counted []string     // immutable: the counts every disconnect line gives, zero included
	closing atomic.Bool  // ShuttingDown was called

	mu   sync.Mutex
	open map[*Conn]struct{} // guarded by mu: the connections accepted and not closed yet
}

// NewTracker returns a tracker logging to log. orderly is the reason given for a connection that the server closed
// when nothing else explains it: the end of an orderly session ("quit", "logout"). counted names the counts
// (Conn.Count) that every disconnect line gives, even when zero.
func NewTracker(log *slog.Logger, orderly string, counted ...string) *Tracker {
	return &Tracker{log: log, orderly: orderly, counted: counted, open: map[*Conn]struct{}{}}
}

// Listener wraps ln, a TCP listener below any TLS. name is the listener's name in the connect lines; implicitTLS
// says that a TLS listener wraps this one.
func (t *Tracker) Listener(ln net.Listener, name string, implicitTLS bool) net.Listener {
	return &listener{Listener: ln, tracker: t, name: name, tls: implicitTLS}
}

// ShuttingDown marks the connections that close from now on, and have no other reason to, as ended by the
// server's shutdown. Call it before closing them.
func (t *Tracker) ShuttingDown() { t.closing.Store(true) }

// CloseAll closes every connection still open, as ended by the server's shutdown: for a protocol library that
// cannot close them itself any more (go-smtp's Close does nothing after its Shutdown gave up waiting).
func (t *Tracker) CloseAll() {
	t.ShuttingDown()
	t.mu.Lock()
	open := make([]*Conn, 0, len(t.open))
	for c := range t.open {
		open = append(open, c)
	}
	t.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
}

type listener struct {
	net.Listener
	tracker *Tracker // immutable
	name    string   // immutable
	tls     bool     // immutable
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	lc := newConn(c, l.tracker.log, l.tracker)
	l.tracker.mu.Lock()
	l.tracker.open[lc] = struct{}{}
	l.tracker.mu.Unlock()
	lc.log.Info("connected", "listener", l.name, "local", c.LocalAddr().String(), "tls", l.tls)
	return lc, nil
}

// Conn is a client connection with its ID. Its Logger carries the ID ("conn") and the client's address ("remote").
// It is safe for concurrent use, as net.Conn is.
type Conn struct {
	net.Conn
	id      string       // immutable
	log     *slog.Logger // immutable
	tracker *Tracker     // immutable; nil for Of's stand-in, which logs no lines of its own
	opened  time.Time    // immutable

	bytesIn, bytesOut atomic.Int64
	closeOnce         sync.Once

	mu     sync.Mutex
	reason string  // guarded by mu: why the connection ends, the first explanation given
	cause  error   // guarded by mu: the failure behind reason, if any
	counts []count // guarded by mu
}

type count struct {
	name string
	n    int
}

func newConn(c net.Conn, log *slog.Logger, t *Tracker) *Conn {
	id := NewID()
	lc := &Conn{Conn: c, id: id, log: log.With("conn", id, "remote", c.RemoteAddr().String()), tracker: t,
		opened: time.Now()}
	if t != nil {
		for _, name := range t.counted {
			lc.counts = append(lc.counts, count{name: name})
		}
	}
	return lc
}

// Of returns the Conn under c: c itself, or the connection under a *tls.Conn. For a connection that did not come
// from a Tracker's listener it returns a stand-in with a fresh ID and a logger based on log, which logs no connect
// or disconnect line, so that callers need no second path.
func Of(c net.Conn, log *slog.Logger) *Conn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if lc, ok := c.(*Conn); ok {
		return lc
	}
	return newConn(c, log, nil)
}

// ID is the connection's ID.
func (c *Conn) ID() string { return c.id }

// Logger is the connection's logger: every line of its session goes through it (or one derived from it).
func (c *Conn) Logger() *slog.Logger { return c.log }

// End records why the connection ends, unless a reason is known already; call it before closing the connection.
func (c *Conn) End(reason string) { c.ended(reason, nil) }

func (c *Conn) ended(reason string, cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason == "" {
		c.reason, c.cause = reason, cause
	}
}

// Count adds one to the named count that the disconnect line gives ("messages").
func (c *Conn) Count(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.counts {
		if c.counts[i].name == name {
			c.counts[i].n++
			return
		}
	}
	c.counts = append(c.counts, count{name: name, n: 1})
}

func (c *Conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.bytesIn.Add(int64(n))
	if err != nil {
		c.failed(err)
	}
	return n, err
}

func (c *Conn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.bytesOut.Add(int64(n))
	if err != nil {
		c.failed(err)
	}
	return n, err
}

// failed records what a failed read or write says about the end of the connection. One that failed because the
// connection was closed here says nothing: whoever closed it knew why.
func (c *Conn) failed(err error) {
	switch {
	case errors.Is(err, net.ErrClosed):
	case errors.Is(err, os.ErrDeadlineExceeded) && c.tracker != nil && c.tracker.closing.Load():
		c.ended(ReasonShutdown, nil) // the shutdown cut the wait for the client short (go-smtp's Shutdown)
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.ended(ReasonTimeout, nil)
	case errors.Is(err, io.EOF):
		c.ended(ReasonClientClosed, nil)
	case errors.Is(err, syscall.ECONNRESET):
		c.ended(ReasonClientClosed, err) // a client that closes with our reply unread, a scanner, sends a reset
	default:
		c.ended(ReasonError, err)
	}
}

// CloseWrite shuts the sending side where the connection under c can (go-smtp does before it drains a client's
// input after an over-long line); the client's reaction to it no longer explains the end.
func (c *Conn) CloseWrite() error {
	c.End(ReasonServerClosed)
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Close closes the connection and, the first time, logs the disconnect line: why, after how long, the counts and
// the bytes each way. The line comes first, so that it is written by the time the client sees the close.
func (c *Conn) Close() error {
	if c.tracker != nil {
		c.closeOnce.Do(c.logEnd)
	}
	return c.Conn.Close()
}

func (c *Conn) logEnd() {
	c.mu.Lock()
	reason, cause, counts := c.reason, c.cause, c.counts
	c.mu.Unlock()
	c.tracker.mu.Lock()
	delete(c.tracker.open, c)
	c.tracker.mu.Unlock()
	if reason == "" {
		reason = c.tracker.orderly
		if c.tracker.closing.Load() {
			reason = ReasonShutdown
		}
	}
	attrs := []any{"reason", reason, "duration", time.Since(c.opened).Round(time.Millisecond)}
	if cause != nil {
		attrs = append(attrs, "err", cause.Error())
	}
	for _, k := range counts {
		attrs = append(attrs, k.name, k.n)
	}
	attrs = append(attrs, "bytes_in", c.bytesIn.Load(), "bytes_out", c.bytesOut.Load())
	c.log.Info("disconnected", attrs...)
}

type idKey struct{}

// ConnContext is an http.Server's ConnContext: it gives each HTTP connection an ID, which Logger adds to the log
// lines of the requests on it.
func ConnContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, idKey{}, NewID())
}

// Logger returns log with the connection ID that ConnContext put in ctx ("conn"), or log itself when there is none.
func Logger(ctx context.Context, log *slog.Logger) *slog.Logger {
	if id, ok := ctx.Value(idKey{}).(string); ok {
		return log.With("conn", id)
	}
	return log
}
