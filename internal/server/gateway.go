package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"mailserver/internal/address"
	"mailserver/internal/config"
	"mailserver/internal/delivery"
	"mailserver/internal/dns"
	"mailserver/internal/mailauth"
	"mailserver/internal/outbound"
	"mailserver/internal/queue"
	"mailserver/internal/smtp"
	"mailserver/internal/store"
)

// newResolver is the one resolver every lookup goes through: the records file first, then (unless [dns] system
// is off) the system resolver behind a cache.
func newResolver(cfg config.DNSConfig) (dns.Resolver, error) {
	var zone *dns.Zone
	if cfg.Records != "" {
		var err error
		if zone, err = dns.LoadZone(cfg.Records); err != nil {
			return nil, fmt.Errorf("dns.records: %w", err)
		}
	}
	var fallback dns.Resolver
	if cfg.System {
		fallback = dns.NewCache(net.DefaultResolver, 0, 0)
	}
	return dns.NewResolver(zone, fallback), nil
}

// newQueueWorker builds the outbound queue's worker from the [[route]], [smarthost] and [queue] tables.
func (s *Server) newQueueWorker(resolver dns.Resolver, deliverer *delivery.Deliverer) (*queue.Worker, error) {
	router := &outbound.Router{Resolver: resolver, MXPort: strconv.Itoa(s.cfg.Queue.MXPort)}
	for _, r := range s.cfg.Routes {
		policy, err := outbound.ParseTLSPolicy(r.TLS)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", r.Domain, err)
		}
		router.Routes = append(router.Routes, outbound.Route{Domain: r.Domain, Host: r.Host, TLS: policy})
	}
	if h := s.cfg.Smarthost; h.Host != "" {
		tlsPolicy := h.TLS
		if tlsPolicy == "" {
			tlsPolicy = "required" // a relay carries everything: encrypted unless the operator says otherwise
		}
		policy, err := outbound.ParseTLSPolicy(tlsPolicy)
		if err != nil {
			return nil, fmt.Errorf("smarthost: %w", err)
		}
		router.Smarthost = &outbound.Smarthost{Host: h.Host, TLS: policy, Username: h.Username}
		if h.PasswordFile != "" {
			pw, err := os.ReadFile(h.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("smarthost.password_file: %w", err)
			}
			router.Smarthost.Password = strings.TrimRight(string(pw), "\r\n")
		}
	}
	retry := make([]time.Duration, len(s.cfg.Queue.Retry))
	for i, d := range s.cfg.Queue.Retry {
		retry[i] = time.Duration(d)
	}
	return queue.New(queue.Options{
		Store:          s.store,
		Deliverer:      deliverer,
		Router:         router,
		Transport:      &outbound.Client{Hostname: s.cfg.Hostname, IdleTimeout: outbound.DefaultIdleTimeout},
		Hostname:       s.cfg.Hostname,
		Retry:          retry,
		MaxAge:         time.Duration(s.cfg.Queue.MaxAge),
		WarnAfter:      time.Duration(s.cfg.Queue.WarnAfter),
		Concurrency:    s.cfg.Queue.Concurrency,
		PerDestination: s.cfg.Queue.PerDestination,
		Logger:         s.log.With("component", "queue"),
	}), nil
}

// inboundChecker turns mailauth's verdicts into what the MX port does with a message.
type inboundChecker struct {
	verifier *mailauth.Verifier
	// quarantineRejects delivers DMARC p=reject failures into Junk instead of refusing them.
	quarantineRejects bool
}

func newInboundChecker(cfg config.Config, resolver dns.Resolver, st *store.Store) smtp.InboundChecker {
	if !cfg.Inbound.Verify {
		return nil
	}
	// The domains served here are protected even before their DMARC records are published.
	local := func(domain string) bool {
		ok, err := st.HasDomain(domain)
		return ok || err != nil // a store error: protect rather than let a forgery through
	}
	return &inboundChecker{verifier: &mailauth.Verifier{Resolver: resolver, AuthServID: cfg.Hostname, Protected: local},
		quarantineRejects: cfg.Inbound.DMARCReject == "quarantine"}
}

func (c *inboundChecker) Check(ctx context.Context, ip net.IP, helo, mailFrom string, msg []byte) smtp.Verdict {
	r := c.verifier.Verify(ctx, mailauth.Inbound{IP: ip, Helo: helo, MailFrom: mailFrom, Message: msg})
	from, err := address.ParseUnquoted(mailFrom) // the null sender does not parse
	v := smtp.Verdict{AuthResults: r.Header(), SenderAuthenticated: err == nil && r.Authenticates(from.Domain)}
	switch {
	case r.Action == mailauth.Reject && !c.quarantineRejects:
		v.Reject = true
		v.Reason = fmt.Sprintf("message rejected: the DMARC policy of %s refuses mail that fails its checks (SPF %s, no aligned DKIM signature)",
			r.DMARC.Domain, r.SPF.Result)
	case r.Action != mailauth.Accept:
		v.Quarantine = true
		v.Reason = fmt.Sprintf("DMARC of %s failed, policy %s", r.DMARC.Domain, r.DMARC.Policy)
	}
	return v
}

// attemptInProgress tells the administration layer whether the queue worker is attempting queued message id. The
// worker is built before anything serves, so the control socket never asks before it exists.
func (s *Server) attemptInProgress(id string) bool { return s.queue != nil && s.queue.InProgress(id) }
