package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
)

// TestWeb runs `mailbench web` against the server: both sides fetch exactly -n list pages and -n message pages
// of a small filled folder, and the report has a row for each with sane latencies. A wrong password fails it.
func TestWeb(t *testing.T) {
	tg := startServer(t)
	ctx := context.Background()
	fill := fillConfig{User: "big@" + testDomain, Mailbox: "INBOX", Messages: 120, Conns: 3, Size: 4 << 10, Seed: 1,
		TLS: tlsNone, Empty: true, From: "vanthu@" + testDomain}
	if _, err := runFill(ctx, tg, fill); err != nil {
		t.Fatal(err)
	}
	args := []string{"web", "-https-addr", tg.HTTPS, "-imap-addr", tg.IMAP, "-pass", tg.Password, "-tls-insecure",
		"-pidfile", "-", "-c", "3", "-n", "20", "-duration", "1m"}
	var out, errOut bytes.Buffer
	if err := run(ctx, args, &out, &errOut); err != nil {
		t.Fatalf("mailbench web: %v\n%s%s", err, out.String(), errOut.String())
	}
	report := out.String()
	t.Log("\n" + report)
	if !strings.Contains(report, "120 messages (3 pages of 50), 3 users") {
		t.Errorf("report header wrong:\n%s", report)
	}
	for _, name := range []string{"webmail list page (GET /mail/list)", "IMAP UID FETCH <50 UIDs> (UID FLAGS ENVELOPE)",
		"webmail message page (GET /mail/read)", "IMAP UID FETCH <UID> BODY.PEEK[]"} {
		checkWebRow(t, report, name)
	}

	wrong := append(args[:len(args):len(args)], "-pass", "not-the-password")
	if err := run(ctx, wrong, &out, &errOut); err == nil || !strings.Contains(err.Error(), "LOGIN") {
		t.Errorf("a wrong password: %v", err)
	}
}

// checkWebRow checks the report's row name: 20 requests, p50 and p99 above zero and in order, a rate.
func checkWebRow(t *testing.T, report, name string) {
	t.Helper()
	for line := range strings.Lines(report) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), name)
		if !ok {
			continue
		}
		f := strings.Fields(rest) // requests, p50, "ms", p99, "ms", req/s
		if len(f) != 6 || f[0] != "20" || f[1] == "0.00" || f[3] == "0.00" || f[5] == "0" {
			t.Errorf("row %q: %q", name, f)
		}
		p50, err50 := strconv.ParseFloat(f[1], 64)
		p99, err99 := strconv.ParseFloat(f[3], 64)
		if err50 != nil || err99 != nil || p99 < p50 {
			t.Errorf("row %q: p50 %s, p99 %s", name, f[1], f[3])
		}
		return
	}
	t.Errorf("no row %q in the report", name)
}
