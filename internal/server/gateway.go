package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

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
// is off) the system resolver behind a cache that keeps each answer for its TTL.
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
		fallback = dns.NewCache(dns.NewSystem(), 0, 0)
	}
	return dns.NewResolver(zone, fallback), nil
}

// newQueueWorker builds the outbound queue's worker from the [[route]], [smarthost] and [queue] tables, with
// s.outbound as its transport.
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
		Transport:      s.outbound,
		Hostname:       s.cfg.Hostname,
		Retry:          retry,
		MaxAge:         time.Duration(s.cfg.Queue.MaxAge),
		WarnAfter:      time.Duration(s.cfg.Queue.WarnAfter),
		Concurrency:    s.cfg.Queue.Concurrency,
		PerDestination: s.cfg.Queue.PerDestination,
		Logger:         s.log.With("component", "queue"),
		Metrics:        s.metrics,
	}), nil
}

// newInboundChecker builds the MX port's inbound policy from the [inbound] table; nil when nothing is checked.
func newInboundChecker(cfg config.Config, resolver dns.Resolver, st *store.Store) smtp.InboundChecker {
	spoof := displayNameSpoofActions[cfg.Inbound.DisplayNameSpoof]
	if !cfg.Inbound.Verify && spoof == mailauth.Accept {
		return nil
	}
	// The domains served here are protected even before their DMARC records are published.
	local := func(domain string) bool {
		ok, err := st.HasDomain(domain)
		return ok || err != nil // a store error: protect rather than let a forgery through
	}
	p := &mailauth.Policy{QuarantineRejects: cfg.Inbound.DMARCReject == "quarantine", DisplayNameSpoof: spoof, Local: local}
	if cfg.Inbound.Verify {
		p.Verifier = &mailauth.Verifier{Resolver: resolver, AuthServID: cfg.Hostname, Protected: local}
	}
	return inboundChecker{p}
}

// displayNameSpoofActions are the actions of [inbound] display_name_spoof (config.DisplayNameSpoofActions).
var displayNameSpoofActions = map[string]mailauth.Action{"junk": mailauth.Quarantine, "reject": mailauth.Reject, "off": mailauth.Accept}

// inboundChecker gives the MX port the policy's verdicts.
type inboundChecker struct{ policy *mailauth.Policy }

func (c inboundChecker) Check(ctx context.Context, ip net.IP, helo, mailFrom string, msg []byte) smtp.Verdict {
	v := c.policy.Judge(ctx, mailauth.Inbound{IP: ip, Helo: helo, MailFrom: mailFrom, Message: msg})
	return smtp.Verdict{AuthResults: v.Trace, Reject: v.Action == mailauth.Reject, Quarantine: v.Action == mailauth.Quarantine,
		Reason: v.Reason, SenderAuthenticated: v.SenderAuthenticated}
}

// attemptInProgress tells the administration layer whether the queue worker is attempting queued message id. The
// worker is built before anything serves, so the control socket never asks before it exists.
func (s *Server) attemptInProgress(id string) bool { return s.queue != nil && s.queue.InProgress(id) }
