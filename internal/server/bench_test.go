package server

import (
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
)

// BenchmarkMXDelivery measures durable inbound delivery end to end: 8 SMTP connections to the MX port, each
// message parsed, stored with fsync and acknowledged. b.N bounds the count; run with -benchtime=2000x or so.
func BenchmarkMXDelivery(b *testing.B) {
	cfg := newTestConfig(b)
	srv, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown(b.Context())
	if err := srv.Admin().AddDomain("example.gov.vn"); err != nil {
		b.Fatal(err)
	}
	for _, u := range testUsers {
		if _, err := srv.Admin().AddUser(adminUser(u)); err != nil {
			b.Fatal(err)
		}
	}
	raw := vietnameseReport("sender@other-agency.gov.vn", testUsers[:1])
	const conns = 8
	var next atomic.Int64
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	done := make(chan error, conns)
	for range conns {
		go func() {
			c, err := gosmtp.Dial(srv.Addr("mx"))
			if err != nil {
				done <- err
				return
			}
			defer c.Close()
			for next.Add(1) <= int64(b.N) {
				if err := c.SendMail("sender@other-agency.gov.vn", testUsers[:1], strings.NewReader(raw)); err != nil {
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
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
