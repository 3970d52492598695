package server

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	"mailserver/internal/metrics"
	"mailserver/internal/tlsutil"
)

// newMetrics makes the metrics every component counts into, with the gauges read from the store and the served
// certificate when a scrape comes, and the HTTP server of the [metrics] listener.
func (s *Server) newMetrics() error {
	s.metrics = metrics.New(s.log.With("component", "metrics"))
	if err := s.metrics.WatchStore(s.store); err != nil {
		return err
	}
	if err := s.metrics.WatchCertificate(s.certificateExpiry); err != nil {
		return err
	}
	token, err := readBearerToken(s.cfg.Metrics.BearerTokenFile)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler(token))
	if s.cfg.Metrics.Profiling {
		mountProfiles(mux, token)
	}
	s.metricsHTTP = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
	return nil
}

// mountProfiles serves the Go runtime's profiles (net/http/pprof) under /debug/pprof/, behind the metrics token.
func mountProfiles(mux *http.ServeMux, token string) {
	mux.Handle("/debug/pprof/", metrics.Protect(token, http.HandlerFunc(pprof.Index)))
	mux.Handle("/debug/pprof/cmdline", metrics.Protect(token, http.HandlerFunc(pprof.Cmdline)))
	mux.Handle("/debug/pprof/profile", metrics.Protect(token, http.HandlerFunc(pprof.Profile)))
	mux.Handle("/debug/pprof/symbol", metrics.Protect(token, http.HandlerFunc(pprof.Symbol)))
	mux.Handle("/debug/pprof/trace", metrics.Protect(token, http.HandlerFunc(pprof.Trace)))
}

func (s *Server) certificateExpiry() (time.Time, error) {
	leaf, err := tlsutil.Leaf(s.tls)
	if err != nil {
		return time.Time{}, err
	}
	return leaf.NotAfter, nil
}

// readBearerToken reads metrics.bearer_token_file; no file means no token is asked for.
func readBearerToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("metrics.bearer_token_file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("metrics.bearer_token_file: %s is empty", path)
	}
	return token, nil
}
