// Package imap serves the store over IMAP4rev2 and IMAP4rev1 with go-imap v2's imapserver.
//
// # Reading the source
//
//   - server.go: Options, listeners, and the one imapserver instance behind them all, which asks mayAuthWithoutTLS
//     per connection whether it may log in before TLS (loopback peers with AllowInsecureAuth).
//   - session.go: the per-connection Session; one file per command group after that (login.go, list.go,
//     mailbox.go, select.go, fetch.go, search.go, flags.go, copy.go, expunge.go, append.go with MULTIAPPEND,
//     quota.go for QUOTA, acl.go for the read-only ACL); condstore.go: CONDSTORE and QRESYNC (RFC 7162) over the
//     store's modseqs and expunge log; sort.go: SORT, ESORT and SORT=DISPLAY with its collation; thread.go.
//   - state.go: live updates. One mailboxState per mailbox that some session has selected: the library's
//     MailboxTracker plus the server's view of the mailbox's UIDs, fed with the store's committed changes through
//     Server.OnChange, which internal/server subscribes to the store.
//   - seqset.go: turning a client's sequence or UID set into messages, through the session's SessionTracker.
//   - searchcontext.go: CONTEXT=SEARCH (SEARCH RETURN (PARTIAL/UPDATE), live results fed by state.go); notify.go:
//     NOTIFY, fed by the same listener; catenate.go: APPEND ... CATENATE and the IMAP URLs it reads.
//   - namespace.go: NAMESPACE and the one resolver from a client's mailbox name to (owner account, store name,
//     rights): own mailboxes, and granted shared mailboxes as "Shared/<address>[/<folder>]". audit.go: the audit
//     records of moves, expunges, deletes and renames in shared mailboxes.
//
// # Rules
//
//   - Nothing here writes to a socket while holding a store transaction or a mailboxState lock: data is copied out,
//     the lock released, then the response written.
//   - Errors a user should see are *imap.Error values with a response code (errors.go); everything else is logged
//     and becomes a generic NO [SERVERBUG] without internal text.
//   - Commands that change a mailbox pass the session's selection as the store's origin, so OnChange does not echo
//     flag changes back to the session that writes them itself.
package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"mailserver/internal/netaddr"
	"net"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailserver/internal/connlog"
	"mailserver/internal/metrics"
	"mailserver/internal/netlimit"
	"mailserver/internal/store"
)

// defaultAppendLimit bounds APPEND when Options.AppendLimit is zero. The library gives a literal five minutes to
// arrive, so the limit has to fit a slow link in that time.
const defaultAppendLimit = 50 << 20

// Authenticator checks a login. *auth.Authenticator implements it; tests use fakes. Its errors are mapped to
// response codes in login.go.
type Authenticator interface {
	Authenticate(remote net.Addr, username, password string) (store.Account, error)
}

// Options configure New.
type Options struct {
	Store     *store.Store
	Auth      Authenticator
	TLSConfig *tls.Config // STARTTLS on Serve, implicit TLS on ServeTLS; nil disables both
	// AllowInsecureAuth lets loopback peers log in without TLS (development). Everyone else always needs TLS.
	AllowInsecureAuth bool
	AppendLimit       uint32 // bytes; 0 means 50 MiB
	// Memory bounds the messages held in memory while they are received, shared with SMTP; nil: no bound beyond
	// AppendLimit per message.
	Memory  *netlimit.Memory
	Logger  *slog.Logger
	Metrics *metrics.Metrics // counts sessions and commands; nil counts nothing
}

// Server is the IMAP server. It is safe for concurrent use.
type Server struct {
	store       *store.Store // immutable
	auth        Authenticator
	log         *slog.Logger
	tlsConfig   *tls.Config
	appendLimit uint32
	memory      *netlimit.Memory
	metrics     *metrics.Metrics
	hub         *hub
	conns       *connlog.Tracker // names and logs each connection
	compressing atomic.Int64     // sessions with COMPRESS active (compress.go)

	lib *imapserver.Server // the one library server behind every listener
	// insecureAuth is Options.AllowInsecureAuth; trusted says which peers it applies to (loopback); tests replace
	// it.
	insecureAuth bool
	trusted      func(net.Addr) bool
	// noSearchIndex makes SEARCH compare every key with every message's text, as if there were no search index:
	// the oracle that tests compare the index's answers with.
	noSearchIndex atomic.Bool

	mu        sync.Mutex
	listeners map[net.Listener]struct{}     // guarded by mu
	sessions  map[*imapserver.Conn]struct{} // every connection with a session, told BYE at shutdown; guarded by mu
	closed    bool                          // guarded by mu
}

var errServerClosed = errors.New("imap: server closed")

// New builds a server. Live updates between sessions need OnChange subscribed to the store (store.Subscribe).
func New(opts Options) *Server {
	s := &Server{
		store:        opts.Store,
		auth:         opts.Auth,
		log:          opts.Logger,
		tlsConfig:    opts.TLSConfig,
		appendLimit:  opts.AppendLimit,
		memory:       opts.Memory,
		metrics:      opts.Metrics,
		hub:          newHub(),
		insecureAuth: opts.AllowInsecureAuth,
		trusted:      netaddr.IsLoopback,
		listeners:    map[net.Listener]struct{}{},
		sessions:     map[*imapserver.Conn]struct{}{},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.conns = connlog.NewTracker(s.log, reasonLogout)
	if s.appendLimit == 0 {
		s.appendLimit = defaultAppendLimit
	}
	s.lib = s.newLibraryServer()
	return s
}

// OnChange turns a change committed to the store into live updates for the sessions that have its mailbox
// selected, and ends the sessions an account's disabling or a revoked grant shuts out. Subscribe it to the store
// (store.Subscribe) before the server serves: it must see changes in commit order, as the store announces them
// before the next commit, or EXISTS and EXPUNGE numbers go wrong.
func (s *Server) OnChange(c store.Change) { s.hub.onChange(c) }

func (s *Server) newLibraryServer() *imapserver.Server {
	return imapserver.New(&imapserver.Options{
		NewSession: func(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return newCountedSession(newSession(s, c)), nil, nil
		},
		Caps:             capabilities(),
		Logger:           libraryLogger{s.log},
		TLSConfig:        s.tlsConfig,
		InsecureAuthFunc: s.mayAuthWithoutTLS,
	})
}

// mayAuthWithoutTLS: loopback peers may log in before TLS when AllowInsecureAuth is set (development); everyone
// else needs TLS. The library asks once per connection.
func (s *Server) mayAuthWithoutTLS(conn net.Conn) bool {
	return s.insecureAuth && s.trusted(conn.RemoteAddr())
}

// capabilities are those the library cannot derive itself. It adds SASL-IR, LITERAL-, STARTTLS, AUTH=PLAIN or
// LOGINDISABLED, and after login UNSELECT, ENABLE, IDLE, UTF8=ACCEPT and APPENDLIMIT=n (from AppendLimit). Every
// capability here needs its session interface (IMAP4rev2 and MOVE: SessionMove, NAMESPACE: SessionNamespace,
// UNAUTHENTICATE: SessionUnauthenticate), or each connection panics. MULTIAPPEND, QUOTA and ACL are not here: the
// library advertises them from the session's interfaces.
func capabilities() imap.CapSet {
	caps := imap.CapSet{}
	for _, c := range []imap.Cap{
		imap.CapIMAP4rev1, imap.CapIMAP4rev2,
		imap.CapNamespace, imap.CapUIDPlus, imap.CapESearch, imap.CapSearchRes,
		imap.CapListExtended, imap.CapListStatus, imap.CapMove, imap.CapStatusSize, imap.CapBinary,
		imap.CapChildren, imap.CapSpecialUse, imap.CapCreateSpecialUse, imap.CapLiteralPlus,
		imap.CapUnauthenticate,
	} {
		caps[c] = struct{}{}
	}
	return caps
}

// reasonLogout is why a connection ended when the server closed it and nothing else explains it: the client's
// LOGOUT (connlog).
const reasonLogout = "logout"

// Serve accepts plaintext connections on ln; clients upgrade with STARTTLS.
func (s *Server) Serve(ln net.Listener) error { return s.serve(s.conns.Listener(ln, "imap", false)) }

// ServeTLS accepts implicit-TLS connections on ln, a TCP listener. The *tls.Conn is handed to the library as is:
// it detects TLS by that type, so wrapping it would hide TLS and disable authentication; the connection log goes
// below TLS.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.tlsConfig == nil {
		return errors.New("imap: ServeTLS needs Options.TLSConfig")
	}
	return s.serve(tls.NewListener(s.conns.Listener(ln, "imaps", true), s.tlsConfig))
}

func (s *Server) serve(ln net.Listener) error {
	if !s.track(ln) {
		return errServerClosed
	}
	defer s.untrack(ln)
	if err := s.lib.Serve(ln); err != nil && !s.isClosed() {
		return fmt.Errorf("imap: %w", err)
	}
	return nil
}

// Close stops every listener and closes every connection.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return s.Shutdown(ctx)
}

// Shutdown stops every listener, tells every connection that the server is going away with an untagged BYE (RFC
// 9051 section 7.1.5; clients reconnect later instead of reporting a broken connection), waiting until ctx ends for
// clients too slow to take it, and closes them.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errServerClosed
	}
	s.closed = true
	s.conns.ShuttingDown()
	var err error
	for ln := range s.listeners {
		if cerr := ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
			err = cerr
		}
	}
	s.mu.Unlock()
	s.sayBye(ctx)
	s.lib.Close() // waits for its accept loops and closes the connections left; fails only when already closed
	return err
}

// sayBye writes BYE to every connection at once and waits for the writes until ctx ends. The library serialises
// responses, so a BYE never lands inside another one; it then closes the connection.
func (s *Server) sayBye(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	conns := make([]*imapserver.Conn, 0, len(s.sessions))
	for c := range s.sessions {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	var said sync.WaitGroup
	for _, c := range conns {
		said.Go(func() { c.Bye("Server shutting down, try again later") })
	}
	done := make(chan struct{})
	go func() {
		said.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done(): // closing the connections next ends the writes still waiting
		s.log.Info("closing IMAP connections that did not take their BYE in time")
	}
}

// connected and disconnected track the connections with a session, for sayBye.
func (s *Server) connected(c *imapserver.Conn) {
	s.mu.Lock()
	s.sessions[c] = struct{}{}
	s.mu.Unlock()
}

func (s *Server) disconnected(c *imapserver.Conn) {
	s.mu.Lock()
	delete(s.sessions, c)
	s.mu.Unlock()
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) untrack(ln net.Listener) {
	s.mu.Lock()
	delete(s.listeners, ln)
	s.mu.Unlock()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// libraryLogger sends the library's log lines (connection-level failures) to slog.
type libraryLogger struct{ log *slog.Logger }

func (l libraryLogger) Printf(format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...))
}
