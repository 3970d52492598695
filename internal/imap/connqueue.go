package imap

import (
	"net"
	"sync"
)

// connQueue is a net.Listener fed by Server.dispatch: it lets one accept loop hand each connection to the library
// server chosen for its peer. Connections pass through unchanged (a *tls.Conn stays a *tls.Conn).
type connQueue struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once

	// accepting is closed by the first Accept: the library's Serve has registered itself by then, so its Close
	// may run (calling Close earlier races with Serve's WaitGroup.Add inside the library).
	accepting     chan struct{}
	acceptingOnce sync.Once
}

func newConnQueue() *connQueue {
	return &connQueue{conns: make(chan net.Conn), done: make(chan struct{}), accepting: make(chan struct{})}
}

// push waits until the library server takes conn; false if the queue was closed first.
func (q *connQueue) push(conn net.Conn) bool {
	select {
	case q.conns <- conn:
		return true
	case <-q.done:
		return false
	}
}

// Accept implements net.Listener.
func (q *connQueue) Accept() (net.Conn, error) {
	q.acceptingOnce.Do(func() { close(q.accepting) })
	select {
	case c := <-q.conns:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

// Addr implements net.Listener; the queue has no address of its own.
func (q *connQueue) Addr() net.Addr { return queueAddr{} }

type queueAddr struct{}

func (queueAddr) Network() string { return "queue" }
func (queueAddr) String() string  { return "imap-queue" }
