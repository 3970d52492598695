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
	"mailserver/internal/metrics"
	"mailserver/internal/netlimit"
	"mailserver/internal/outbound"
	"mailserver/internal/queue"
	"mailserver/internal/smtp"
	"mailserver/internal/store"
	"mailserver/internal/tlsutil"
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

	imap             *imap.Server
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
	s := &Server{cfg: cfg, log: logger, opts: opts, store: st, tls: tlsConfig, addrs: map[string]net.Addr{}}
	s.admin = admin.New(st, admin.WithAttemptsInProgress(s.attemptInProgress))
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
	authn := auth.NewAuthenticator(s.store, auth.NewThrottle(time.Now))
	memory := netlimit.NewMemory(int64(s.cfg.MessageMemory))
	deliverer := delivery.New(s.store, s.cfg.Hostname, s.log.With("component", "delivery"), s.metrics)
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
	s.subscribeToChanges()
	s.http = s.newHTTPServer(carddav.NewHandler(s.store, authn.ForProtocol(s.metrics, metrics.ProtocolCardDAV),
		s.log.With("component", "carddav")))
	return nil
}

// subscribeToChanges is where the parts that follow the store's committed changes subscribe to them: the IMAP
// server turns them into live updates of open sessions. Each subscriber runs under the store's commit lock, so it
// must only do quick in-memory work (store.Subscribe).
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
	smtpLimit, imapLimit := netlimit.NewLimiter(s.cfg.SMTP.MaxConnectionsPerIP), netlimit.NewLimiter(s.cfg.IMAP.MaxConnectionsPerIP)
	// Address-book clients (phones, Thunderbird) keep few connections: the IMAP budget is ample for them.
	httpLimit := netlimit.NewLimiter(s.cfg.IMAP.MaxConnectionsPerIP)
	plans := []plan{
		{"mx", s.cfg.SMTP.MX, false, smtpLimit, refuseSMTP, s.mx.Serve},
		{"submission", s.cfg.SMTP.Submission, false, smtpLimit, refuseSMTP, s.submission.Serve},
		{"submissions", s.cfg.SMTP.Submissions, false, smtpLimit, nil, s.submissions.ServeTLS},
		{"imap", s.cfg.IMAP.Listen, false, imapLimit, refuseIMAP, s.imap.Serve},
		{"imaps", s.cfg.IMAP.ListenTLS, false, imapLimit, nil, s.imap.ServeTLS},
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
			if err := p.serve(ln); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
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

// startQueue runs the outbound queue's worker; it resumes whatever the queue held at the last stop or crash.
func (s *Server) startQueue() {
	ctx, cancel := context.WithCancel(context.Background())
	s.queueStop, s.queueDone = cancel, make(chan struct{})
	go func() {
		defer close(s.queueDone)
		s.queue.Run(ctx)
	}()
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
	s.ctlCancel = cancel
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		if err := ctl.Serve(ctx, ln, s.admin, s.log.With("component", "ctl")); err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Error("control socket stopped", "err", err)
		}
	}()
	return nil
}

func (s *Server) closeListeners() {
	for _, ln := range s.listenersToClose {
		ln.Close()
	}
}

// Shutdown stops accepting, lets in-flight SMTP transactions finish until ctx expires, stops the outbound queue
// (attempts under way record what they learnt) and says QUIT on its idle connections, closes IMAP sessions and
// finally the store (bbolt waits for open transactions).
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	s.shutdownOnce.Do(func() {
		if s.ctlCancel != nil {
			s.ctlCancel()
		}
		for _, srv := range []*smtp.Server{s.mx, s.submission, s.submissions} {
			// Shutdown waits for every connection to end, and a client may keep an idle one open: once ctx
			// expires, close what is left. A transaction in its commit still finishes: bbolt's Close waits for it.
			err := srv.Shutdown(ctx)
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				s.log.Info("closing SMTP connections still open at shutdown")
				err = srv.Close()
			}
			if err != nil && !errors.Is(err, gosmtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, fmt.Errorf("smtp shutdown: %w", err))
			}
		}
		if s.queueStop != nil {
			s.queueStop() // attempts in progress record what they learnt before Run returns
			<-s.queueDone
		}
		// Only now, with every attempt over and its connection handed back: the idle ones get QUIT, so that other
		// agencies' servers do not keep them open for the rest of their idle time.
		s.outbound.Close()
		if err := s.imap.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("imap shutdown: %w", err))
		}
		s.imapUnsubscribe()
		if err := s.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		if err := s.metricsHTTP.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("metrics shutdown: %w", err))
		}
		s.closeListeners()
		s.serving.Wait()
		if err := s.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	})
	return errors.Join(errs...)
}

// Run starts the server, serves until ctx is cancelled, then shuts down within a few seconds.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(); err != nil {
		s.store.Close()
		return err
	}
	<-ctx.Done()
	s.log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Shutdown(shutdownCtx)
}
