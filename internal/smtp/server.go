// Package smtp serves the two SMTP roles of the mail server on top of github.com/emersion/go-smtp: MX (port 25:
// mail for local domains from anyone, never relayed, no AUTH) and submission (587 with STARTTLS, 465 with implicit
// TLS: staff send mail after AUTH). Sessions hand accepted mail to internal/delivery and reply 250 only after the
// store has committed it.
//
// # Reading the source
//
//   - server.go: Options, the two constructors, go-smtp settings, and Server, which names and logs each connection
//     (internal/connlog).
//   - session.go: the MAIL/RCPT/DATA flow shared by both roles.
//   - harvest.go: slowing down, then refusing, clients that probe for addresses (unknown recipients).
//   - auth.go: AUTH PLAIN and LOGIN for submission, and when AUTH is allowed at all.
//   - data.go: reading the message (size limit, bare CR/LF refusal) and completing a submission's header.
//   - errors.go: toSMTPError, the one place where errors become replies.
//
// # go-smtp caveats this package handles
//
//   - A plain Go error from a session callback becomes a permanent 554 carrying the error's text: every callback
//     returns through toSMTPError.
//   - STARTTLS discards the session object (and go-smtp forgets AUTH), so everything a session knows is per TLS
//     state; RFC 3207 section 4.2 asks for exactly that. The net.Conn a session uses is captured when it starts.
//   - BDAT runs Data on its own goroutine, concurrently with Reset and Logout: session state is behind a mutex.
//   - go-smtp recovers panics in command handlers and in the BDAT goroutine (421 and a log line), which is the safety
//     net at the connection boundary; this package adds none of its own.
//   - DATA is read by go-smtp's dot-unstuffing reader, patched in third_party/go-smtp so that it removes the stuffed
//     dot and nothing else: checkLineEndings sees every CR and LF the client sent.
//   - Both go-smtp and this package detect TLS by a *tls.Conn type assertion: Server.ServeTLS puts tls.NewListener
//     over the connection log's listener, and nothing wraps the TLS connections themselves.
//   - go-smtp has no hook at a connection's start or end, and starts sessions only at EHLO: the connection log
//     wraps the listener instead, and the per-connection state it keeps (ID, messages, why it ended) outlives
//     STARTTLS.
package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/connlog"
	"mailserver/internal/delivery"
	"mailserver/internal/metrics"
	"mailserver/internal/netlimit"
	"mailserver/internal/store"
)

// Authenticator checks a user's password; *auth.Authenticator satisfies it. It throttles failures itself and returns
// auth.ErrTooManyAttempts when the client or account is locked out.
type Authenticator interface {
	Authenticate(remote net.Addr, username, password string) (store.Account, error)
}

// InboundChecker judges a message from another server before it is stored (SPF, DKIM, DMARC and the display-name
// rule: mailauth.Policy, adapted in internal/server).
type InboundChecker interface {
	Check(ctx context.Context, ip net.IP, helo, mailFrom string, message []byte) Verdict
}

// Verdict is what the inbound checks concluded.
type Verdict struct {
	// AuthResults is the trace fields of the checks, CRLF-terminated, stored with every copy: an
	// Authentication-Results field, and any warning the checks add (a display name showing one of our addresses).
	AuthResults string
	Reject      bool   // refuse the message (550 5.7.1 Reason)
	Quarantine  bool   // deliver it into Junk
	Reason      string // why, for the reply and the log
	// SenderAuthenticated: SPF or an aligned DKIM signature vouches for the MAIL FROM domain. A message that a
	// group admitted on its MAIL FROM alone is refused without it.
	SenderAuthenticated bool
}

// Defaults for zero Options fields.
const (
	DefaultMaxMessageBytes = 50 << 20
	DefaultMaxRecipients   = 1000
	// DefaultMaxLineLength bounds a command line or a line of message text, CRLF included. RFC 5321 section
	// 4.5.3.1.6 allows 1000; go-smtp's own default of 2000 refuses real mail that some clients produce.
	DefaultMaxLineLength = 4096
	DefaultReadTimeout   = 5 * time.Minute // RFC 5321 section 4.5.3.2.7: 5 minutes for a command
	DefaultWriteTimeout  = time.Minute
)

// Options configure both roles.
type Options struct {
	Deliverer *delivery.Deliverer // required
	Auth      Authenticator       // required for submission
	TLSConfig *tls.Config         // nil: no STARTTLS
	Hostname  string              // greeting and Received headers

	MaxMessageBytes int64 // SIZE, advertised and enforced (default DefaultMaxMessageBytes)
	MaxRecipients   int   // RCPT commands per message (default DefaultMaxRecipients)
	MaxLineLength   int   // default DefaultMaxLineLength
	// ReadTimeout bounds the wait for each command line, and for each read while the message is being received, so
	// a large message on a slow link is not cut off as long as bytes keep coming (default DefaultReadTimeout).
	ReadTimeout  time.Duration
	WriteTimeout time.Duration // each reply (default DefaultWriteTimeout)

	// Inbound checks mail on the MX port (SPF, DKIM, DMARC); nil: no checks.
	Inbound InboundChecker

	// Memory bounds the messages held in memory while they are received, shared with IMAP APPEND; nil: no bound
	// beyond MaxMessageBytes per message.
	Memory *netlimit.Memory

	// Harvest counts unknown recipients per client address; share one between servers facing the same clients.
	// nil: each server has its own, with the default limits.
	Harvest *HarvestGuard

	// Metrics counts replies, accepted messages and refusals for the metrics endpoint; nil counts nothing.
	Metrics *metrics.Metrics

	// AllowInsecureAuth lets submission clients on loopback addresses AUTH without TLS (development). Remote clients
	// always need TLS first.
	AllowInsecureAuth bool
	Logger            *slog.Logger
}

// NewMX returns the port-25 server: mail for local domains from anyone, relaying refused, no AUTH.
func NewMX(opts Options) *Server { return newServer(opts, roleMX, "mx") }

// NewSubmission returns the submission server (RFC 6409) for port 587: AUTH required, only over TLS (STARTTLS), or
// loopback with AllowInsecureAuth. Serve it with Serve.
func NewSubmission(opts Options) *Server { return newServer(opts, roleSubmission, "submission") }

// NewSubmissions returns the submission server for port 465 (implicit TLS, RFC 8314): serve it with ServeTLS. It
// differs from NewSubmission's only in the listener name its metrics and connection log carry.
func NewSubmissions(opts Options) *Server { return newServer(opts, roleSubmission, "submissions") }

// Server is one listener's server: go-smtp's, with every connection given an ID and logged when it opens and closes.
type Server struct {
	smtp     *gosmtp.Server   // immutable
	conns    *connlog.Tracker // immutable
	listener string           // immutable
	tls      *tls.Config      // immutable
}

// Serve accepts plaintext connections on ln (STARTTLS is offered when Options.TLSConfig is set) until Close.
func (s *Server) Serve(ln net.Listener) error {
	return s.smtp.Serve(s.conns.Listener(ln, s.listener, false))
}

// ServeTLS accepts implicit-TLS connections on ln, a TCP listener (submissions, RFC 8314). TLS goes on top of the
// connection log's listener: go-smtp must see a *tls.Conn to offer AUTH.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.tls == nil {
		return errors.New("smtp: ServeTLS needs Options.TLSConfig")
	}
	return s.smtp.Serve(tls.NewListener(s.conns.Listener(ln, s.listener, true), s.tls))
}

// Shutdown stops accepting, ends the connections outside a mail transaction with 421 and the others once their
// transaction is over (go-smtp's Shutdown, patched in third_party/go-smtp), the log giving each as ended by the
// server's shutdown, and waits until every connection has ended or ctx expires.
func (s *Server) Shutdown(ctx context.Context) error {
	s.conns.ShuttingDown()
	return s.smtp.Shutdown(ctx)
}

// Close stops accepting and closes every connection, which the log gives as ended by the server's shutdown; also
// after a Shutdown that gave up waiting.
func (s *Server) Close() error {
	s.conns.ShuttingDown()
	err := s.smtp.Close()
	s.conns.CloseAll()
	return err
}

type role int

const (
	roleMX role = iota
	roleSubmission
)

func (r role) String() string {
	if r == roleSubmission {
		return "submission"
	}
	return "mx"
}

// server is what every session of one gosmtp.Server shares. Immutable after newServer.
type server struct {
	role     role
	listener string  // names the listener in metrics: mx, submission or submissions
	opts     Options // defaults filled in
	log      *slog.Logger
}

func newServer(opts Options, r role, listener string) *Server {
	opts = withDefaults(opts)
	srv := &server{role: r, listener: listener, opts: opts, log: opts.Logger.With("role", r.String())}
	s := gosmtp.NewServer(gosmtp.BackendFunc(srv.newSession))
	// Every reply leaves through go-smtp, whether a session or go-smtp itself chose it (third_party/go-smtp).
	s.OnReply = func(code int) { opts.Metrics.SMTPReply(listener, code) }
	s.Domain = opts.Hostname
	s.TLSConfig = opts.TLSConfig
	s.MaxMessageBytes = opts.MaxMessageBytes
	s.MaxRecipients = opts.MaxRecipients
	s.MaxLineLength = opts.MaxLineLength
	s.ReadTimeout = opts.ReadTimeout
	s.WriteTimeout = opts.WriteTimeout
	s.EnableSMTPUTF8 = true // addresses and headers are stored as given; Vietnamese names are UTF-8 anyway
	// go-smtp's switch only opens the gate; authAllowed narrows it to loopback clients.
	s.AllowInsecureAuth = r == roleSubmission && opts.AllowInsecureAuth
	s.ErrorLog = errorLog{srv.log}
	return &Server{smtp: s, conns: connlog.NewTracker(srv.log, reasonQuit, countMessages), listener: listener,
		tls: opts.TLSConfig}
}

// What the disconnect line of an SMTP connection says: an orderly end is the client's QUIT, and the count is of the
// messages accepted.
const (
	reasonQuit    = "quit"
	countMessages = "messages"
)

func withDefaults(o Options) Options {
	o.MaxMessageBytes = positiveOr(o.MaxMessageBytes, DefaultMaxMessageBytes)
	o.MaxRecipients = positiveOr(o.MaxRecipients, DefaultMaxRecipients)
	o.MaxLineLength = positiveOr(o.MaxLineLength, DefaultMaxLineLength)
	o.ReadTimeout = positiveOr(o.ReadTimeout, DefaultReadTimeout)
	o.WriteTimeout = positiveOr(o.WriteTimeout, DefaultWriteTimeout)
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Harvest == nil {
		o.Harvest = NewHarvestGuard(HarvestLimits{})
	}
	return o
}

// errorLog receives go-smtp's own reports (connection errors, recovered panics).
type errorLog struct{ log *slog.Logger }

func (l errorLog) Printf(format string, v ...any) { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l errorLog) Println(v ...any)               { l.log.Warn(fmt.Sprint(v...)) }

// positiveOr is v, or def when v is zero or negative (an Options field left unset).
func positiveOr[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
