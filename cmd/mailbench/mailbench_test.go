package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/admin"
	"mailserver/internal/config"
	"mailserver/internal/message"
	"mailserver/internal/server"
	"mailserver/internal/store"
)

const (
	testDomain   = "example.gov.vn"
	testPassword = "Mat-khau-Thu-2026"
)

// startServer runs this project's server in the test on loopback ports chosen by the kernel, with the accounts
// big@, user1@ and user2@, and returns it as a mailbench target. Its process is the test's: the pid file makes
// the memory and CPU readings work as they do against a peer.
func startServer(t *testing.T) target {
	t.Helper()
	dir, err := os.MkdirTemp("", "mb") // short: the control socket's path is limited to about 100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg := config.Default()
	cfg.DataDir, cfg.Hostname = dir, "mail."+testDomain
	cfg.SMTP.MX, cfg.SMTP.Submission, cfg.SMTP.Submissions = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.IMAP.Listen, cfg.IMAP.ListenTLS, cfg.HTTP.Listen, cfg.HTTP.ListenTLS = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Metrics.Listen = "127.0.0.1:0"
	cfg.Sieve.ManageSieve = "127.0.0.1:0"
	cfg.DNS.System = false
	// As in the bench-peers config: the generated sender is in the local domain, which the MX port refuses
	// without SPF/DKIM, and the tool logs in without TLS on loopback.
	cfg.Inbound.Verify = false
	cfg.SMTP.AllowInsecureAuth, cfg.IMAP.AllowInsecureAuth = true, true
	srv, err := server.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), server.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	if err := srv.Admin().AddDomain(testDomain); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"big", "user1", "user2"} {
		if _, err := srv.Admin().AddUser(admin.AddUserRequest{Address: u + "@" + testDomain, Password: testPassword}); err != nil {
			t.Fatal(err)
		}
	}
	pidFile := filepath.Join(dir, "server.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return target{SMTP: srv.Addr("mx"), Submission: srv.Addr("submission"), IMAP: srv.Addr("imap"), IMAPS: srv.Addr("imaps"),
		HTTPS: srv.Addr("https"), Domain: testDomain, Password: testPassword, PIDFiles: []string{pidFile}, TLS: tlsSettings{Insecure: true}}
}

// TestSMTPEveryMessageVisible delivers over the MX port and over submission (STARTTLS, AUTH, two recipients each)
// and checks that every accepted message was counted and seen over IMAP.
func TestSMTPEveryMessageVisible(t *testing.T) {
	tg := startServer(t)
	ctx := context.Background()
	rcpts := []string{"user1@" + testDomain, "user2@" + testDomain}
	mx := smtpConfig{Session: smtpSession{Addr: tg.SMTP, TLS: tlsAuto}, Conns: 3, Messages: 21, Duration: time.Minute,
		Size: 8 << 10, Seed: 1, PerMessage: 1, Recipients: rcpts, From: "vanthu@" + testDomain, Empty: true,
		Wait: time.Minute, IMAPTLS: tlsNone}
	res, err := runSMTP(ctx, tg, mx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 21 || res.Failed != 0 || res.Copies[rcpts[0]] != 11 || res.Copies[rcpts[1]] != 10 || len(res.Latencies) != 21 {
		t.Errorf("MX run: sent %d, failed %d (%v), copies %v, %d latencies", res.Sent, res.Failed, res.FirstErr, res.Copies, len(res.Latencies))
	}
	if res.E2E <= 0 || res.CPU <= 0 {
		t.Errorf("MX run: e2e %v, server CPU %v", res.E2E, res.CPU)
	}

	sub := mx
	sub.Session = smtpSession{Addr: tg.Submission, TLS: tlsAuto, User: rcpts[0]}
	sub.From, sub.PerMessage, sub.Messages = rcpts[0], 2, 10
	if res, err = runSMTP(ctx, tg, sub); err != nil {
		t.Fatal(err)
	}
	if res.Sent != 10 || res.Copies[rcpts[0]] != 10 || res.Copies[rcpts[1]] != 10 {
		t.Errorf("submission run: sent %d, failed %d (%v), copies %v", res.Sent, res.Failed, res.FirstErr, res.Copies)
	}
}

// TestFillThenIMAP fills a mailbox and runs every IMAP measurement on it: the searches find exactly what fill
// planted, and the delivery during FETCH leaves the mailbox as it was.
func TestFillThenIMAP(t *testing.T) {
	tg := startServer(t)
	ctx := context.Background()
	big := "big@" + testDomain
	fill := fillConfig{User: big, Mailbox: "INBOX", Messages: 230, Conns: 3, Size: 6 << 10, Seed: 1, TLS: tlsNone,
		Empty: true, From: "vanthu@" + testDomain}
	filled, err := runFill(ctx, tg, fill)
	if err != nil {
		t.Fatal(err)
	}
	if filled.Appended != 230 || filled.Marked != 3 {
		t.Fatalf("fill: appended %d, marked %d; want 230 and 3", filled.Appended, filled.Marked)
	}
	// A second fill without emptying continues the numbering: messages 230..269, of which none is marked.
	fill.Empty, fill.Messages = false, 40
	if filled, err = runFill(ctx, tg, fill); err != nil || filled.Marked != 3 || filled.Before != 230 {
		t.Fatalf("second fill: %+v, %v", filled, err)
	}

	cfg := imapConfig{User: big, Mailbox: "INBOX", Repeat: 2, TLS: tlsNone, TextWord: markerText, SubjectWord: markerSubject,
		Deliveries: 4, Delivery: smtpConfig{Session: smtpSession{Addr: tg.SMTP, TLS: tlsNone}, Conns: 1,
			Duration: time.Minute, Size: 4 << 10, Seed: 2, From: "vanthu@" + testDomain, Wait: time.Minute}}
	res, err := runIMAP(ctx, tg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 270 || res.TextHits != 3 || res.SubjectHits != 3 {
		t.Errorf("imap: %d messages, TEXT %d hits, SUBJECT %d hits; want 270, 3, 3", res.Messages, res.TextHits, res.SubjectHits)
	}
	if res.DeliveryAlone.Sent != 4 || res.Delivery.Sent != 4 {
		t.Errorf("delivery during FETCH: %d alone, %d during", res.DeliveryAlone.Sent, res.Delivery.Sent)
	}
	var out bytes.Buffer
	res.report(&out, cfg)
	for _, want := range []string{"LOGIN (first)", "BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)]", "270 messages, ",
		"UID SORT", "UID STORE 1:* -FLAGS (\\Seen)", "during a FETCH 1:* loop"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
	// The raw client counted every response of the bulk commands.
	for _, op := range res.Ops {
		if strings.HasPrefix(op.Name, "UID FETCH") || strings.HasPrefix(op.Name, "UID SORT") || strings.HasPrefix(op.Name, "UID STORE") {
			if !strings.HasPrefix(op.Detail, "270 ") {
				t.Errorf("%s: %s, want 270 messages", op.Name, op.Detail)
			}
		}
	}
	c, err := loginIMAP(tg, tlsNone, big)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, err := messageCount(c, "INBOX"); err != nil || n != 270 {
		t.Errorf("after the imap run the INBOX holds %d messages (%v), want the 270 filled", n, err)
	}
}

// TestLoginsAndIdle runs a small login storm and holds a few idle connections, with memory readings.
func TestLoginsAndIdle(t *testing.T) {
	tg := startServer(t)
	ctx := context.Background()
	users := []string{"user1@" + testDomain, "user2@" + testDomain}
	logins, err := runLogins(ctx, tg, loginsConfig{Users: users, Parallel: 4, TLS: tlsNone})
	if err != nil {
		t.Fatal(err)
	}
	if len(logins.Latencies) != 4 || logins.Failed != 0 || logins.During.RSS == 0 {
		t.Errorf("logins: %d OK, %d failed (%v), memory %+v", len(logins.Latencies), logins.Failed, logins.FirstErr, logins.During)
	}
	idle, err := runIdle(ctx, tg, idleConfig{Users: users, Conns: 3, TLS: tlsStartTLS})
	if err != nil {
		t.Fatal(err)
	}
	if idle.Held != 3 || idle.During.RssAnon == 0 {
		t.Errorf("idle: %d held, memory %+v", idle.Held, idle.During)
	}
}

// TestProvince generates a small province, checks its counts and consistency, and that a rerun adds nothing.
func TestProvince(t *testing.T) {
	dir := t.TempDir()
	cfg := provinceConfig{DBPath: filepath.Join(dir, "mail.db"), Domain: testDomain, Accounts: 200, Messages: 2000,
		Big: 300, Size: 4 << 10, Seed: 1, Password: testPassword}
	res, err := generateProvince(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.AccountsAdded != 200 || res.UnitsAdded != len(provinceUnits()) || res.Appended != 2000 || res.FileSize == 0 {
		t.Errorf("first run: %+v", res)
	}
	if res, err = generateProvince(cfg); err != nil || res.AccountsAdded != 0 || res.UnitsAdded != 0 || res.Appended != 0 {
		t.Errorf("rerun: %+v, %v", res, err)
	}
	st, err := store.Open(cfg.DBPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Check(); err != nil {
		t.Errorf("check: %v", err)
	}
	users, err := admin.New(st).ListUsers()
	if err != nil || len(users) != 200 {
		t.Fatalf("%d accounts (%v), want 200", len(users), err)
	}
	total, bigCount, nonEmpty := 0, 0, 0
	for _, u := range users {
		a, err := st.Account(u.Address)
		if err != nil {
			t.Fatal(err)
		}
		inbox, err := st.Mailbox(a.ID, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		total += int(inbox.Messages)
		if inbox.Messages > 0 {
			nonEmpty++
		}
		if u.Address == "big@"+testDomain {
			bigCount = int(inbox.Messages)
		}
		if u.Unit == "" {
			t.Errorf("%s is in no unit", u.Address)
		}
	}
	if total != 2000 || bigCount != 300 || nonEmpty < 100 {
		t.Errorf("%d messages in all, %d in big@, %d non-empty INBOXes; want 2000, 300 and most", total, bigCount, nonEmpty)
	}
}

// TestGeneratedMessage checks what the generator makes: the same bytes for the same spec, about the size asked,
// and markers that a parser finds where search looks for them (decoded subject, decoded body text).
func TestGeneratedMessage(t *testing.T) {
	spec := messageSpec{Seed: 7, Index: 100, Size: 20 << 10, From: "vanthu@" + testDomain, To: "big@" + testDomain,
		Marked: true, Date: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	raw := generateMessage(spec)
	if !bytes.Equal(raw, generateMessage(spec)) {
		t.Error("the same spec gave different messages")
	}
	if len(raw) < spec.Size || len(raw) > spec.Size+2<<10 {
		t.Errorf("size %d, asked for %d", len(raw), spec.Size)
	}
	p := message.Parse(raw)
	if p.Envelope == nil || !strings.Contains(p.Envelope.Subject, markerSubject) {
		t.Errorf("the decoded subject lacks the marker: %+v", p.Envelope)
	}
	if text := string(p.SearchText()); !strings.Contains(text, markerText) {
		t.Error("the search text lacks the body marker")
	}
	spec.Marked = false
	if unmarked := generateMessage(spec); bytes.Contains(unmarked, []byte(markerText)) {
		t.Error("an unmarked message holds the body marker")
	}
	if markedCount(0, 100) != 1 || markedCount(0, 101) != 2 || markedCount(100, 201) != 2 || markedCount(5, 5) != 0 {
		t.Error("markedCount")
	}
}

// TestHelp asks every subcommand for its -h, which also catches two flags of one name.
func TestHelp(t *testing.T) {
	for _, c := range subcommands() {
		var out bytes.Buffer
		if err := run(context.Background(), []string{c.name, "-h"}, &out, &out); err == nil || !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s -h: %v", c.name, err)
		}
	}
}

// TestUnavailableIsRetried: a LOGIN refused with NO [UNAVAILABLE] (the server is busy) is tried again; other
// refusals are not.
func TestUnavailableIsRetried(t *testing.T) {
	busy := fmt.Errorf("login: %w", &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable})
	wrong := &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed}
	if !unavailable(busy) || unavailable(wrong) || unavailable(errors.New("EOF")) {
		t.Error("unavailable")
	}
}
