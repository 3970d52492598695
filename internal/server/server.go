// Package server assembles the whole mail server from its parts — store, delivery, SMTP, IMAP, the control socket
// and the HTTP endpoint — and runs them until told to stop. cmd/mailserver's serve command and the end-to-end tests
// both start the server through this package, so the tests exercise exactly what operators run.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/admin"
	"mailserver/internal/auth"
	"mailserver/internal/carddav"
	"mailserver/internal/config"
	"mailserver/internal/ctl"
	"mailserver/internal/delivery"
	"mailserver/internal/imap"
	"mailserver/internal/managesieve"
	"mailserver/internal/metrics"
	"mailserver/internal/netlimit"
	"mailserver/internal/outbound"
	"mailserver/internal/queue"
	"mailserver/internal/smtp"
	"mailserver/internal/store"
	"mailserver/internal/tlsutil"
	"mailserver/internal/version"
	"mailserver/internal/webmail"
)

// Options adjust New beyond the config file.
type Options struct {
	// Bootstrap creates a demo domain and account on the very first start (the embedded default) and prints how to
	// connect. Operators with a config file provision their own.
	Bootstrap bool
	// Out receives the first-start message (default os.Stdout).
	Out io.Writer
	// NoSync is for tests only: acknowledged mail must be on disk in production.
	NoSync bool
}

// Server is a configured mail server. New opens the store; Start binds every listener; Shutdown stops them.
type Server struct {
	cfg   config.Config
	log   *slog.Logger
	opts  Options
	store *store.Store
	tls   *tls.Config
	admin *admin.Service
	// authn is the one login check of SMTP, IMAP and CardDAV; the admin Service tells it of changed passwords.
	authn *auth.Authenticator

	imap             *imap.Server
	managesieve      *managesieve.Server
	imapUnsubscribe  func() // ends the IMAP server's subscription to the store's changes
	mx, submission   *smtp.Server
	submissions      *smtp.Server // the submission role on implicit TLS, a server of its own for its metrics
	queue            *queue.Worker
	outbound         *outbound.Client // the queue's transport; closed once the queue has stopped
	queueStop        context.CancelFunc
	queueDone        chan struct{}
	http             *http.Server
	ctlCancel        context.CancelFunc
	mu               sync.Mutex
	addrs            map[string]net.Addr
	listening        []admin.Listener // guarded by mu: bound listeners in order, for status
	started          time.Time        // guarded by mu: when Start began
	serving          sync.WaitGroup
	shutdownOnce     sync.Once
	listenersToClose []net.Listener

	metrics     *metrics.Metrics // every component counts into it
	metricsHTTP *http.Server     // serves it on the [metrics] listener
}

// New opens the data folder and the store and builds every component; nothing listens yet.
func New(cfg config.Config, logger *slog.Logger, opts Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	for _, w := range cfg.Warnings() {
		logger.Warn("config: " + w)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder %s: %w", cfg.DataDir, err)
	}
	tlsConfig, err := tlsutil.LoadOrCreate(cfg.TLS.Cert, cfg.TLS.Key, cfg.DataDir, []string{cfg.Hostname})
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	st, err := store.Open(cfg.DBPath(), store.Options{NoSync: opts.NoSync})
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: logger, opts: opts, store: st, tls: tlsConfig, addrs: map[string]net.Addr{},
		authn: auth.NewAuthenticator(st, auth.NewThrottle(time.Now))}
	s.admin = admin.New(st, admin.WithAttemptsInProgress(s.attemptInProgress), admin.WithServerInfo(s.info),
		admin.WithCredentialsChanged(s.authn.Forget), admin.WithSieve(admin.SieveSettingsFor(cfg.Sieve)))
	if opts.Bootstrap {
		if err := s.bootstrap(); err != nil {
			st.Close()
			return nil, err
		}
	}
	// Domains made before DKIM keys existed get one, so that every outbound message is signed.
	added, err := s.admin.EnsureDKIMKeys()
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("DKIM keys: %w", err)
	}
	for _, d := range added {
		logger.Warn("made a DKIM key for a domain that had none: publish it", "domain", d, "see", "mailserver domain dns "+d)
	}
	if err := s.build(); err != nil {
		st.Close()
		return nil, err
	}
	return s, nil
}

// build wires the protocol servers and the outbound queue to the store.
func (s *Server) build() error {
	resolver, err := newResolver(s.cfg.DNS)
	if err != nil {
		return err
	}
	if err := s.newMetrics(); err != nil {
		return err
	}
	authn := s.authn
	memory := netlimit.NewMemory(int64(s.cfg.MessageMemory))
	deliverer := delivery.New(s.store, s.cfg.Hostname, s.log.With("component", "delivery"), s.metrics)
	deliverer.UseSieve(s.admin.CompileSieve)
	s.outbound = &outbound.Client{Hostname: s.cfg.Hostname, IdleTimeout: outbound.DefaultIdleTimeout}
	if s.queue, err = s.newQueueWorker(resolver, deliverer); err != nil {
		return err
	}
	smtpOpts := smtp.Options{
		Deliverer:         deliverer,
		Auth:              authn.ForProtocol(s.metrics, metrics.ProtocolSMTP),
		TLSConfig:         s.tls,
		Hostname:          s.cfg.Hostname,
		MaxMessageBytes:   int64(s.cfg.SMTP.MaxMessageSize),
		MaxRecipients:     s.cfg.SMTP.MaxRecipients,
		ReadTimeout:       time.Duration(s.cfg.SMTP.ReadTimeout),
		WriteTimeout:      time.Duration(s.cfg.SMTP.WriteTimeout),
		AllowInsecureAuth: s.cfg.SMTP.AllowInsecureAuth,
		Inbound:           newInboundChecker(s.cfg, resolver, s.store),
		Memory:            memory,
		Logger:            s.log.With("component", "smtp"),
		Metrics:           s.metrics,
	}
	s.mx = smtp.NewMX(smtpOpts)
	s.submission = smtp.NewSubmission(smtpOpts)
	s.submissions = smtp.NewSubmissions(smtpOpts)
	s.imap = imap.New(imap.Options{
		Store:             s.store,
		Auth:              authn.ForProtocol(s.metrics, metrics.ProtocolIMAP),
		TLSConfig:         s.tls,
		AllowInsecureAuth: s.cfg.IMAP.AllowInsecureAuth,
		AppendLimit:       appendLimit(s.cfg.SMTP.MaxMessageSize),
		Memory:            memory,
		Logger:            s.log.With("component", "imap"),
		Metrics:           s.metrics,
	})
	s.managesieve = s.newManageSieve(authn.ForProtocol(s.metrics, metrics.ProtocolManageSieve))
	s.subscribeToChanges()
	mail, err := webmail.New(webmail.Options{Store: s.store, Auth: authn.ForProtocol(s.metrics, metrics.ProtocolWebmail),
		Logger: s.log.With("component", "webmail"), Deliverer: deliverer, MaxMessageSize: int64(s.cfg.SMTP.MaxMessageSize),
		ChangePassword: s.admin.ChangeOwnPassword, CompileSieve: s.admin.CompileSieve,
		SieveLimits: admin.SieveSettingsFor(s.cfg.Sieve).Limits})
	if err != nil {
		return err
	}
	s.http = s.newHTTPServer(carddav.NewHandler(s.store, authn.ForProtocol(s.metrics, metrics.ProtocolCardDAV),
		s.log.With("component", "carddav")), mail)
	return nil
}

// subscribeToChanges is where the parts that follow the store's committed changes subscribe to them: the IMAP
// server turns them into live updates of open sessions. Each subscriber runs on the goroutine that committed, before
// the next commit, so it must only do quick in-memory work (store.Subscribe).
func (s *Server) subscribeToChanges() {
	s.imapUnsubscribe = s.store.Subscribe(s.imap.OnChange)
}

// appendLimit keeps IMAP APPEND in line with the SMTP size limit, within what a uint32 and the library's five-minute
// literal deadline allow.
func appendLimit(max config.Size) uint32 {
	if max <= 0 || max > 1<<30 {
		return 1 << 30
	}
	return uint32(max)
}

// Admin is the administration service of this server (used by the control socket).
func (s *Server) Admin() *admin.Service { return s.admin }

// Store is the server's store (for tests and tools in the same process).
func (s *Server) Store() *store.Store { return s.store }

// Addr returns the bound address of a listener: "mx", "submission", "submissions", "imap", "imaps", "http",
// "https", "metrics".
func (s *Server) Addr(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.addrs[name]; ok {
		return a.String()
	}
	return ""
}

// Start binds every configured listener and starts serving. A listener that cannot bind stops the start with an
// error naming it, after closing what was already bound.
func (s *Server) Start() error {
	type plan struct {
		name, addr string
		tls        bool              // wrap in TLS here (SMTP and IMAP put TLS over their connection log themselves)
		limit      *netlimit.Limiter // connections per client address, shared by a protocol's listeners; nil: none
		refuse     func(net.Conn)
		serve      func(net.Listener) error
	}
	s.mu.Lock()
	s.started = time.Now()
	s.mu.Unlock()
	smtpLimit, imapLimit := netlimit.NewLimiter(s.cfg.SMTP.MaxConnectionsPerIP), netlimit.NewLimiter(s.cfg.IMAP.MaxConnectionsPerIP)
	// Address-book clients (phones, Thunderbird) keep few connections: the IMAP budget is ample for them.
	httpLimit := netlimit.NewLimiter(s.cfg.IMAP.MaxConnectionsPerIP)
	plans := []plan{
		{"mx", s.cfg.SMTP.MX, false, smtpLimit, refuseSMTP, s.mx.Serve},
		{"submission", s.cfg.SMTP.Submission, false, smtpLimit, refuseSMTP, s.submission.Serve},
		{"submissions", s.cfg.SMTP.Submissions, false, smtpLimit, nil, s.submissions.ServeTLS},
		{"imap", s.cfg.IMAP.Listen, false, imapLimit, refuseIMAP, s.imap.Serve},
		{"imaps", s.cfg.IMAP.ListenTLS, false, imapLimit, nil, s.imap.ServeTLS},
		{"managesieve", s.cfg.Sieve.ManageSieve, false, imapLimit, nil, s.managesieve.Serve},
		{"http", s.cfg.HTTP.Listen, false, httpLimit, nil, s.http.Serve},
		{"https", s.cfg.HTTP.ListenTLS, true, httpLimit, nil, s.http.Serve},
		{"metrics", s.cfg.Metrics.Listen, false, nil, nil, s.metricsHTTP.Serve},
	}
	for _, p := range plans {
		if p.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			s.closeListeners()
			return fmt.Errorf("listen %s on %s: %w", p.name, p.addr, err)
		}
		s.mu.Lock()
		s.addrs[p.name] = ln.Addr()
		s.listening = append(s.listening, admin.Listener{Name: p.name, Addr: ln.Addr().String()})
		s.mu.Unlock()
		s.listenersToClose = append(s.listenersToClose, ln)
		if p.limit != nil {
			ln = p.limit.Listener(ln, p.refuse)
		}
		ln = s.metrics.CountConnections(ln, p.name)
		if p.tls {
			ln = tls.NewListener(ln, s.tls)
		}
		s.serving.Add(1)
		go func(p plan, ln net.Listener) {
			defer s.serving.Done()
			if err := p.serve(ln); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) &&
				!errors.Is(err, managesieve.ErrServerClosed) {
				s.log.Error("listener stopped", "listener", p.name, "err", err)
			}
		}(p, ln)
		s.log.Info("listening", "listener", p.name, "addr", ln.Addr().String())
	}
	if err := s.startControlSocket(); err != nil {
		return err
	}
	s.startQueue()
	return nil
}

// info is what the status operation tells about the running server.
func (s *Server) info() admin.ServerInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return admin.ServerInfo{Version: version.Read(), Started: s.started, Listeners: slices.Clone(s.listening)}
}

// startQueue runs the outbound queue's worker; it resumes whatever the queue held at the last stop or crash.
func (s *Server) startQueue() {
	ctx, cancel := context.WithCancel(context.Background())
	s.queueStop, s.queueDone = cancel, make(chan struct{})
	go func() {
		defer close(s.queueDone)
		s.queue.Run(ctx)
	}()
}

// sessionPruneInterval is how often the webmail sessions idle past their timeout are deleted; a lookup deletes
// an expired one it meets anyway, so this only keeps abandoned ones from piling up.
const sessionPruneInterval = 10 * time.Minute

// pruneWebSessions deletes idle webmail sessions every sessionPruneInterval until ctx ends.
func (s *Server) pruneWebSessions(ctx context.Context) {
	t := time.NewTicker(sessionPruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.store.PruneWebSessions(webmail.DefaultIdleTimeout); err != nil {
				s.log.Warn("prune webmail sessions", "err", err)
			} else if n > 0 {
				s.log.Info("webmail sessions ended for idleness", "sessions", n)
			}
		}
	}
}

// The replies a client over the connection limit gets on plain-text listeners; TLS listeners just close.
func refuseSMTP(c net.Conn) {
	c.Write([]byte("421 4.7.0 Too many connections from your address, try again later\r\n"))
}
func refuseIMAP(c net.Conn) {
	c.Write([]byte("* BYE [UNAVAILABLE] Too many connections from your address\r\n"))
}

func (s *Server) startControlSocket() error {
	ln, err := ctl.Listen(s.cfg.SocketPath())
	if err != nil {
		s.closeListeners()
		return fmt.Errorf("control socket: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.ctlCancel = cancel // also ends the webmail sessions' pruning
	s.serving.Add(2)
	go func() {
		defer s.serving.Done()
		if err := ctl.Serve(ctx, ln, s.admin, s.log.With("component", "ctl")); err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Error("control socket stopped", "err", err)
		}
	}()
	go func() {
		defer s.serving.Done()
		s.pruneWebSessions(ctx)
	}()
	return nil
}

func (s *Server) closeListeners() {
	for _, ln := range s.listenersToClose {
		ln.Close()
	}
}

// Shutdown stops the server gracefully within ctx. Every listener stops accepting; SMTP connections outside a
// transaction get 421 at once, those in one finish it first (its reply sent); IMAP connections are told BYE; the
// outbound queue's attempts under way record what they learnt; HTTP requests under way end. Then the queue's idle
// connections get QUIT and the store closes (bbolt waits for open transactions). Whatever ctx's end still finds open
// is closed: a message whose transfer it cuts was not acknowledged, and its sender sends it again.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	s.shutdownOnce.Do(func() {
		if s.ctlCancel != nil {
			s.ctlCancel()
		}
		errs = s.stopServing(ctx)
		// Only now, with every attempt over and its connection handed back: the idle ones get QUIT, so that other
		// agencies' servers do not keep them open for the rest of their idle time.
		s.outbound.Close()
		s.imapUnsubscribe()
		s.closeListeners()
		s.serving.Wait()
		if err := s.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	})
	return errors.Join(errs...)
}

// stopServing stops the protocol servers and the queue at once, each within ctx, and returns what went wrong.
func (s *Server) stopServing(ctx context.Context) []error {
	stops := []func() error{
		func() error { return s.stopSMTP(ctx, s.mx) },
		func() error { return s.stopSMTP(ctx, s.submission) },
		func() error { return s.stopSMTP(ctx, s.submissions) },
		func() error {
			if err := s.imap.Shutdown(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("imap shutdown: %w", err)
			}
			return nil
		},
		func() error {
			if err := s.managesieve.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("managesieve shutdown: %w", err)
			}
			return nil
		},
		func() error { return s.stopHTTP(ctx, "http", s.http) },
		func() error { return s.stopHTTP(ctx, "metrics", s.metricsHTTP) },
		func() error {
			if s.queueStop != nil {
				s.queueStop() // attempts in progress record what they learnt before Run returns
				<-s.queueDone
			}
			return nil
		},
	}
	errs := make([]error, len(stops))
	var wg sync.WaitGroup
	for i, stop := range stops {
		wg.Go(func() { errs[i] = stop() })
	}
	wg.Wait()
	return errs
}

// stopSMTP lets srv's transactions under way finish within ctx (go-smtp's Shutdown, patched to end connections
// outside a transaction at once), then closes the connections left.
func (s *Server) stopSMTP(ctx context.Context, srv *smtp.Server) error {
	err := srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		s.log.Warn("shutdown_timeout reached: closing the SMTP connections still in a transaction; their senders will send again")
		err = srv.Close()
	}
	if err != nil && !errors.Is(err, gosmtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("smtp shutdown: %w", err)
	}
	return nil
}

// stopHTTP lets srv's requests under way finish within ctx, then closes the connections left.
func (s *Server) stopHTTP(ctx context.Context, name string, srv *http.Server) error {
	err := srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		s.log.Warn("shutdown_timeout reached: closing the HTTP connections still busy", "server", name)
		err = srv.Close()
	}
	if err != nil {
		return fmt.Errorf("%s shutdown: %w", name, err)
	}
	return nil
}

// Run starts the server, serves until ctx is cancelled, then shuts down within the configured shutdown_timeout.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(); err != nil {
		s.store.Close()
		return err
	}
	<-ctx.Done()
	bound := time.Duration(s.cfg.ShutdownTimeout)
	s.log.Info("shutting down", "shutdown_timeout", s.cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	start := time.Now()
	err := s.Shutdown(shutdownCtx)
	s.log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	return err
}
