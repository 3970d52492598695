package server

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/admin"
	"mailserver/internal/config"
	"mailserver/internal/store"
)

// BenchmarkGateway measures mail between two agencies end to end, both servers in this process with fsync on:
// 8 submission connections at a.gov.vn, each message stored in the queue, DKIM-signed (RSA and Ed25519) and
// delivered over SMTP with STARTTLS to b.gov.vn's MX, which checks SPF, DKIM and DMARC and stores it. The clock
// stops when the last message is in the recipient's INBOX. b.N bounds the count; run with -benchtime=500x or so.
func BenchmarkGateway(b *testing.B) {
	zone := filepath.Join(b.TempDir(), "records.zone")
	mxA, mxB := freeAddr(b), freeAddr(b)
	cfgA := gatewayConfig(b, "a.gov.vn", mxA, "b.gov.vn", mxB, zone)
	cfgB := gatewayConfig(b, "b.gov.vn", mxB, "a.gov.vn", mxA, zone)
	records := provisionAgency(b, cfgA, "a.gov.vn") + provisionAgency(b, cfgB, "b.gov.vn") +
		"mail.a.gov.vn. IN A 127.0.0.1\nmail.b.gov.vn. IN A 127.0.0.1\n"
	if err := os.WriteFile(zone, []byte(records), 0o600); err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var servers []*Server
	for _, cfg := range []config.Config{cfgA, cfgB} {
		srv, err := New(cfg, logger, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			b.Fatal(err)
		}
		defer srv.Shutdown(b.Context())
		servers = append(servers, srv)
	}
	a, dest := servers[0], servers[1]
	inbox := inboxOf(b, dest.Store(), "vanthu@b.gov.vn")
	raw := vietnameseReport("vanthu@a.gov.vn", []string{"vanthu@b.gov.vn"})
	// Logging in costs a password hash each: done before the clock starts.
	const conns = 8
	clients := make([]*gosmtp.Client, conns)
	for i := range clients {
		c, err := gosmtp.DialTLS(a.Addr("submissions"), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if err := c.Auth(sasl.NewPlainClient("", "vanthu@a.gov.vn", testPassword)); err != nil {
			b.Fatal(err)
		}
		clients[i] = c
	}
	var next atomic.Int64
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	done := make(chan error, conns)
	for _, c := range clients {
		go func() {
			for next.Add(1) <= int64(b.N) {
				if err := c.SendMail("vanthu@a.gov.vn", []string{"vanthu@b.gov.vn"}, strings.NewReader(raw)); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range conns {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		mb, err := dest.Store().MailboxByID(inbox)
		if err != nil {
			b.Fatal(err)
		}
		if int(mb.Messages) >= b.N {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d messages arrived within 5 minutes", mb.Messages, b.N)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// gatewayConfig is one agency: MX at mx, submission on a kernel-chosen port, a static route to the peer, the shared
// records file as its only DNS.
func gatewayConfig(b *testing.B, domain, mx, peer, peerMX, zone string) config.Config {
	cfg := newTestConfig(b)
	cfg.Hostname = "mail." + domain
	cfg.SMTP.MX = mx
	cfg.IMAP.Listen, cfg.IMAP.ListenTLS, cfg.HTTP.Listen, cfg.HTTP.ListenTLS = "", "", "", ""
	cfg.Routes = []config.RouteConfig{{Domain: peer, Host: peerMX, TLS: "required"}}
	cfg.DNS.Records = zone
	return cfg
}

// provisionAgency adds the domain (with RSA and Ed25519 keys) and vanthu@ in a store of its own, before the server
// opens it, and returns what 'mailserver domain dns' would print.
func provisionAgency(b *testing.B, cfg config.Config, domain string) string {
	st, err := store.Open(cfg.DBPath(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc := admin.New(st)
	if err := svc.AddDomain(domain); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.AddDKIMKey(domain, "ed25519"); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.AddUser(adminUser("vanthu@" + domain)); err != nil {
		b.Fatal(err)
	}
	keys, err := svc.DKIMKeys(domain)
	if err != nil {
		b.Fatal(err)
	}
	return admin.FormatDomainRecords(domain, admin.MailHost{Hostname: cfg.Hostname}, keys)
}

func inboxOf(b *testing.B, st *store.Store, address string) uint64 {
	a, err := st.Account(address)
	if err != nil {
		b.Fatal(err)
	}
	mb, err := st.Mailbox(a.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	return mb.ID
}
