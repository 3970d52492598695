package server

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
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
	"mailserver/internal/testnet"
)

// BenchmarkGateway measures mail between two agencies end to end with fsync on: 8 connections submit to a.gov.vn's
// gateway, which queues each message and relays it over SMTP with STARTTLS to b.gov.vn's MX, a mailserver that
// checks SPF, DKIM and DMARC and stores it. The clock stops when the last message is in the recipient's INBOX.
// b.N bounds the count; run with -benchtime=2000x or so.
//
// The gateway is the variable: "mailserver" (submission with AUTH over implicit TLS, DKIM-signed with RSA and
// Ed25519) against "postfix", a private Postfix instance from Debian's package in the same role (implicit TLS from
// loopback without AUTH, no DKIM signing, its defaults otherwise, which include reusing connections under backlog).
func BenchmarkGateway(b *testing.B) {
	b.Run("mailserver", func(b *testing.B) {
		zone := filepath.Join(b.TempDir(), "records.zone")
		mxA, mxB := testnet.FreeAddr(b), testnet.FreeAddr(b)
		cfgA := gatewayConfig(b, "a.gov.vn", mxA, "b.gov.vn", mxB, zone)
		a := startBenchAgency(b, cfgA, "a.gov.vn", zone)
		dest := startBenchAgency(b, gatewayConfig(b, "b.gov.vn", mxB, "a.gov.vn", mxA, zone), "b.gov.vn", zone)
		clients := benchClients(b, a.Addr("submissions"), "vanthu@a.gov.vn")
		benchRelay(b, clients, dest)
	})
	b.Run("postfix", func(b *testing.B) {
		zone := filepath.Join(b.TempDir(), "records.zone")
		relay, mxB := testnet.FreeAddr(b), testnet.FreeAddr(b)
		// a.gov.vn exists only in DNS here: its MX is the Postfix relay's host, so SPF passes for it.
		writeZone(b, zone, "a.gov.vn. IN MX 10 mail.a.gov.vn.\nmail.a.gov.vn. IN A 127.0.0.1\na.gov.vn. IN TXT \"v=spf1 mx -all\"\n"+
			"_dmarc.a.gov.vn. IN TXT \"v=DMARC1; p=reject\"\n")
		dest := startBenchAgency(b, gatewayConfig(b, "b.gov.vn", mxB, "a.gov.vn", relay, zone), "b.gov.vn", zone)
		startPostfixRelay(b, "mail.a.gov.vn", relay, "b.gov.vn", mxB)
		clients := benchClients(b, relay, "")
		benchRelay(b, clients, dest)
	})
}

// startBenchAgency provisions domain in cfg's store, appends its DNS records to the shared zone and starts it.
func startBenchAgency(b *testing.B, cfg config.Config, domain, zone string) *Server {
	writeZone(b, zone, provisionAgency(b, cfg, domain)+"mail."+domain+". IN A 127.0.0.1\n")
	srv, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Shutdown(context.Background()) })
	return srv
}

// writeZone appends records to the zone file; servers read it when they start.
func writeZone(b *testing.B, zone, records string) {
	f, err := os.OpenFile(zone, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.WriteString(records); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// benchClients opens 8 implicit-TLS SMTP connections to addr, logged in as user unless it is empty. Logging in costs
// a password hash each, so it happens before the clock starts.
func benchClients(b *testing.B, addr, user string) []*gosmtp.Client {
	clients := make([]*gosmtp.Client, 8)
	for i := range clients {
		c, err := gosmtp.DialTLS(addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		if user != "" {
			if err := c.Auth(sasl.NewPlainClient("", user, testPassword)); err != nil {
				b.Fatal(err)
			}
		}
		clients[i] = c
	}
	return clients
}

// benchRelay sends b.N messages from vanthu@a.gov.vn to vanthu@b.gov.vn over clients and waits for the last one to
// reach dest's INBOX.
func benchRelay(b *testing.B, clients []*gosmtp.Client, dest *Server) {
	inbox := inboxOf(b, dest.Store(), "vanthu@b.gov.vn")
	raw := vietnameseReport("vanthu@a.gov.vn", []string{"vanthu@b.gov.vn"})
	var next atomic.Int64
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	done := make(chan error, len(clients))
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
	for range clients {
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
