// Package managesieve serves ManageSieve (RFC 5804): the protocol that Thunderbird's sieve add-on, Roundcube's
// managesieve plugin and sieve-connect use to store, check and activate a user's Sieve scripts.
//
// # Reading the source
//
//   - server.go: Options and Limits with their defaults, the listeners, and shutdown.
//   - parse.go: the command reader (RFC 5804 section 4): atoms, quoted strings, literals ({n+} and {n}), numbers,
//     every size bounded before it is read.
//   - session.go: one connection: the read loop, timeouts, error flood, and the replies (OK/NO/BYE with response
//     codes).
//   - auth.go: CAPABILITY, STARTTLS and AUTHENTICATE (PLAIN and LOGIN through go-sasl), UNAUTHENTICATE.
//   - scripts.go: the script commands over the Scripts storage, and the mapping of its errors to response codes.
//
// The package knows neither the store nor the Sieve interpreter: Options.Scripts and Options.Check stand for them,
// and internal/server wires them in.
package managesieve

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"mailserver/internal/connlog"
	"mailserver/internal/netaddr"
	"mailserver/internal/store"
)

// Authenticator checks a login; the IMAP server's (an *auth.Authenticator, counted for this protocol) serves here
// too, so failed logins share one throttle. Its errors are mapped to replies in auth.go.
type Authenticator interface {
	Authenticate(remote net.Addr, username, password string) (store.Account, error)
}

// ScriptInfo is one script of an account, as LISTSCRIPTS shows it.
type ScriptInfo struct {
	Name   string
	Active bool
}

// Scripts is the storage of each account's scripts. Its errors that the client should see wrap the Err values
// below; any other error is logged and answered with a generic NO (TRYLATER).
type Scripts interface {
	List(accountID uint64) ([]ScriptInfo, error)
	Get(accountID uint64, name string) ([]byte, error)
	Put(accountID uint64, name string, src []byte) error
	// HaveSpace says whether a script of size bytes could be stored under name (replacing one of that name).
	HaveSpace(accountID uint64, name string, size int) error
	Activate(accountID uint64, name string) error // "" deactivates every script
	Delete(accountID uint64, name string) error
	Rename(accountID uint64, from, to string) error
}

// Errors of Scripts, each answered with its response code (RFC 5804 section 1.3). The adapter over the store wraps
// the store's errors into these.
var (
	ErrNonexistent = errors.New("no such script")                   // NO (NONEXISTENT)
	ErrActive      = errors.New("the script is active")             // NO (ACTIVE)
	ErrExists      = errors.New("a script with that name exists")   // NO (ALREADYEXISTS)
	ErrName        = errors.New("invalid script name")              // NO
	ErrQuota       = errors.New("over the quota for Sieve scripts") // NO (QUOTA)
	// ErrQuotaMaxScripts and ErrQuotaMaxSize are the two kinds of ErrQuota that have their own codes.
	ErrQuotaMaxScripts = fmt.Errorf("too many scripts: %w", ErrQuota) // NO (QUOTA/MAXSCRIPTS)
	ErrQuotaMaxSize    = fmt.Errorf("script too large: %w", ErrQuota) // NO (QUOTA/MAXSIZE)
)

// Limits bound what one client may do. Zero fields take the defaults below.
type Limits struct {
	MaxScriptBytes int64 // one script; default 1 MiB
	MaxScripts     int   // scripts per account; default 32
	MaxLineBytes   int   // one command line, literals excluded; default 8 KiB
	MaxErrors      int   // commands refused as malformed before BYE; default 10
	// LoginTimeout bounds the wait for a command before authentication, IdleTimeout after it; CommandTimeout the
	// reading of a literal once announced; WriteTimeout each reply. Defaults: 1 min, 30 min, 5 min, 1 min.
	LoginTimeout, IdleTimeout, CommandTimeout, WriteTimeout time.Duration
}

func (l Limits) withDefaults() Limits {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if l.MaxScriptBytes <= 0 {
		l.MaxScriptBytes = 1 << 20
	}
	if l.MaxScripts <= 0 {
		l.MaxScripts = 32
	}
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = 8 << 10
	}
	if l.MaxErrors <= 0 {
		l.MaxErrors = 10
	}
	def(&l.LoginTimeout, time.Minute)
	def(&l.IdleTimeout, 30*time.Minute)
	def(&l.CommandTimeout, 5*time.Minute)
	def(&l.WriteTimeout, time.Minute)
	return l
}

// defaultMaxRedirects is advertised when Options.MaxRedirects is zero: Dovecot's default too.
const defaultMaxRedirects = 4

// Options configure New.
type Options struct {
	Auth    Authenticator
	Scripts Scripts
	// Check compiles a script of the account as delivery would run it (the interpreter plus the forwarding policy,
	// which depends on the account's unit). Its error text goes to the client as it is, so it should say the line
	// and column; nil accepts every script.
	Check     func(acct store.Account, src []byte) error
	TLSConfig *tls.Config // STARTTLS; nil offers none
	// AllowInsecureAuth lets loopback peers authenticate without TLS (development); others always need STARTTLS.
	AllowInsecureAuth bool
	Limits            Limits
	// Extensions are the Sieve extensions the interpreter supports, advertised in the SIEVE capability.
	Extensions   []string
	MaxRedirects int    // advertised as MAXREDIRECTS; 0 means 4
	Hostname     string // in the greeting's text
	// Implementation is the IMPLEMENTATION capability; empty means "mailserver".
	Implementation string
	Logger         *slog.Logger
}

// Server is a ManageSieve server. It is safe for concurrent use.
type Server struct {
	opts   Options // immutable, defaults applied
	limits Limits  // immutable
	log    *slog.Logger
	conns  *connlog.Tracker
	// trusted says which peers AllowInsecureAuth applies to (loopback); tests replace it to play a remote peer.
	trusted func(net.Addr) bool

	mu        sync.Mutex
	listeners map[net.Listener]struct{} // guarded by mu
	sessions  map[*session]struct{}     // guarded by mu
	closed    bool                      // guarded by mu
	wg        sync.WaitGroup            // the sessions' goroutines
}

// ErrServerClosed is what Serve returns after Close.
var ErrServerClosed = errors.New("managesieve: server closed")

const reasonLogout = "logout"

// New builds a server.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Implementation == "" {
		opts.Implementation = "mailserver"
	}
	if opts.MaxRedirects <= 0 {
		opts.MaxRedirects = defaultMaxRedirects
	}
	return &Server{
		opts:      opts,
		limits:    opts.Limits.withDefaults(),
		log:       opts.Logger,
		conns:     connlog.NewTracker(opts.Logger, reasonLogout, countFailedLogins),
		trusted:   netaddr.IsLoopback,
		listeners: map[net.Listener]struct{}{},
		sessions:  map[*session]struct{}{},
	}
}

// Serve accepts connections on l until Close, serving each on its own goroutine. l is a plain TCP listener:
// ManageSieve has no implicit TLS (RFC 5804 section 2.2), only STARTTLS.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	ln := s.conns.Listener(l, "managesieve", false)
	var tempDelay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// A passing shortage (file descriptors): wait a little, as net/http does.
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				time.Sleep(tempDelay)
				continue
			}
			return fmt.Errorf("managesieve: accept: %w", err)
		}
		tempDelay = 0
		s.startSession(c)
	}
}

func (s *Server) startSession(c net.Conn) {
	sess := newSession(s, c)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return
	}
	s.sessions[sess] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		sess.serve()
		s.mu.Lock()
		delete(s.sessions, sess)
		s.mu.Unlock()
	}()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops every listener, tells every session BYE and waits for them to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var errs []error
	for l := range s.listeners {
		errs = append(errs, l.Close())
	}
	sessions := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	s.conns.ShuttingDown()
	for _, sess := range sessions {
		sess.shutdown()
	}
	s.wg.Wait()
	return errors.Join(errs...)
}
