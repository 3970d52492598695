package tlsutil

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// reloadInterval bounds how often handshakes stat the certificate files.
const reloadInterval = 30 * time.Second

// reloader serves a certificate pair from disk and re-reads it when either
// file's modification time or size changes, so that a renewal (certbot,
// acme.sh, an administrator copying files) takes effect without a restart.
type reloader struct {
	certPath, keyPath string           // immutable
	clock             func() time.Time // immutable
	interval          time.Duration    // immutable

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     string // modification times and sizes of the loaded files
	lastCheck time.Time
}

func newReloader(certPath, keyPath string, clock func() time.Time, interval time.Duration) (*reloader, error) {
	r := &reloader{certPath: certPath, keyPath: keyPath, clock: clock, interval: interval}
	stamp, err := r.statFiles()
	if err != nil {
		return nil, err
	}
	cert, err := loadPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("tls: load %s and %s: %w", certPath, keyPath, err)
	}
	r.cert, r.stamp, r.lastCheck = &cert, stamp, clock()
	return r, nil
}

// getCertificate is tls.Config.GetCertificate.
func (r *reloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.clock(); now.Sub(r.lastCheck) >= r.interval {
		r.lastCheck = now
		r.reloadLocked()
	}
	return r.cert, nil
}

// reloadLocked re-reads the pair if the files changed. Failures keep the
// current certificate: a half-copied renewal must not stop TLS, and the
// next check after the copy completes picks the new pair up.
func (r *reloader) reloadLocked() {
	stamp, err := r.statFiles()
	if err != nil {
		slog.Error("TLS certificate reload: keeping the current certificate", "err", err)
		return
	}
	if stamp == r.stamp {
		return
	}
	cert, err := loadPair(r.certPath, r.keyPath)
	if err != nil {
		slog.Error("TLS certificate reload: keeping the current certificate",
			"cert", r.certPath, "key", r.keyPath, "err", err)
		return
	}
	r.cert, r.stamp = &cert, stamp
	slog.Info("TLS certificate reloaded", "cert", r.certPath, "not_after", cert.Leaf.NotAfter)
}

func (r *reloader) statFiles() (string, error) {
	var stamp string
	for _, p := range []string{r.certPath, r.keyPath} {
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("tls: %w", err)
		}
		stamp += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return stamp, nil
}
