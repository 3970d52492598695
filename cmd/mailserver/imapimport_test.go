package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailserver/internal/mailfile"
	"mailserver/internal/testnet"
)

// oldMessage is one message put on the old server: where, what, and what it must look like here.
type oldMessage struct {
	folder string // the old server's name
	body   string
	flags  []imap.Flag
	date   time.Time
}

func (m oldMessage) imported(ourFlags ...string) importedMessage {
	return importedMessage{body: m.body, flags: ourFlags, date: m.date}
}

// appendOld puts messages on an IMAP server, creating their folders.
func appendOld(t *testing.T, c *imapclient.Client, msgs ...oldMessage) {
	t.Helper()
	for _, m := range msgs {
		if m.folder != "INBOX" {
			// CREATE of an existing folder fails harmlessly.
			c.Create(m.folder, nil).Wait()
		}
		cmd := c.Append(m.folder, int64(len(m.body)), &imap.AppendOptions{Flags: m.flags, Time: m.date})
		if _, err := cmd.Write([]byte(m.body)); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			t.Fatalf("APPEND to %q: %v", m.folder, err)
		}
	}
}

// importedSummary reads "imported N messages into …" from an import's summary.
func importedSummary(t *testing.T, out string) string {
	t.Helper()
	m := regexp.MustCompile(`imported \d+ messages into \S+, skipped \d+ already there, \d+ failed(; flags of \d+ brought up to date)?`).FindString(out)
	if m == "" {
		t.Fatalf("no summary in:\n%s", out)
	}
	return m
}

func TestImportFromDovecot(t *testing.T) {
	d := startDovecot(t)
	day := func(n int) time.Time { return time.Date(2023, 3, n, 8, 15, 0, 0, time.FixedZone("", 7*3600)) }
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	var (
		report = oldMessage{"INBOX", crlf("Message-ID: <m1@old.vinhyen.gov.vn>\nSubject: =?UTF-8?B?QsOhbyBjw6Fv?=\n\n" +
			"From the chairman: a line that starts like an mbox separator.\n"), []imap.Flag{imap.FlagSeen, "$Label1"}, day(1)}
		noID       = oldMessage{"INBOX", crlf("Subject: no Message-ID\n\nx\n"), nil, day(2)}
		incoming   = oldMessage{"Công văn đến", crlf("Message-ID: <m3@old>\nSubject: Công văn\n\nnội dung\n"), []imap.Flag{imap.FlagAnswered, imap.FlagFlagged, "CongViec"}, day(3)}
		yearOne    = oldMessage{"Công văn đến.2024", crlf("Message-ID: <m4@old>\nSubject: 2024/1\n\na\n"), nil, day(4)}
		yearTwo    = oldMessage{"Công văn đến.2024", crlf("Message-ID: <m5@old>\nSubject: 2024/2\n\nb\n"), []imap.Flag{imap.FlagSeen}, day(5)}
		sent       = oldMessage{"Thư đã gửi", crlf("Message-ID: <m6@old>\nSubject: đã gửi\n\nc\n"), []imap.Flag{imap.FlagSeen}, day(6)}
		sentOld    = oldMessage{"Thư đã gửi.2019", crlf("Message-ID: <m7@old>\nSubject: 2019\n\nd\n"), []imap.Flag{imap.FlagSeen}, day(7)}
		deleted    = oldMessage{"Deleted Items", crlf("Message-ID: <m8@old>\nSubject: xoá\n\ne\n"), []imap.Flag{imap.FlagSeen, imap.FlagDeleted}, day(8)}
		arrivedNew = oldMessage{"INBOX", crlf("Message-ID: <m9@old>\nSubject: after the first copy\n\nf\n"), nil, day(9)}
	)
	c := d.login(t)
	appendOld(t, c, report, noID, incoming, yearOne, yearTwo, sent, sentOld, deleted)
	if err := c.Create("Rỗng", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)
	imp := func(extra ...string) result {
		return e.run(dovecotPassword+"\n", append([]string{"import", "imap", "--host", d.addr, "--security", "tls", "--user", dovecotUser,
			"--into", userAn}, extra...)...)
	}

	// The old server's certificate is verified: a self-signed one is refused until its CA is given.
	if r := imp(); r.code == 0 || !strings.Contains(r.stderr, "not trusted") || !strings.Contains(r.stderr, "--ca-file") {
		t.Fatalf("an untrusted certificate: exit %d, stderr %q", r.code, r.stderr)
	}
	r := imp("--ca-file", d.caFile)
	if r.code != 0 {
		t.Fatalf("first copy: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := importedSummary(t, r.stdout); got != "imported 8 messages into "+userAn+", skipped 0 already there, 0 failed" {
		t.Errorf("first copy: %s\n%s", got, r.stdout)
	}
	for _, folder := range []string{"Công văn đến/2024", "Sent/2019", "Trash", "Rỗng"} {
		if !strings.Contains(r.stdout, folder+" ") {
			t.Errorf("the summary lacks folder %q:\n%s", folder, r.stdout)
		}
	}

	// A second run finds nothing new (and skips the verification when told to).
	r = imp("--insecure-skip-verify")
	if got := importedSummary(t, r.stdout); r.code != 0 || got != "imported 0 messages into "+userAn+", skipped 0 already there, 0 failed" {
		t.Errorf("second copy: exit %d, %s\n%s", r.code, got, r.stderr)
	}

	// A new message arrives, the user reads and relabels mail on the old server, and a folder is renumbered
	// (deleted and made again: a new UIDVALIDITY): the third run copies the new message, brings the flags over and
	// recognises the renumbered folder's messages.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	storeFlags := func(uid imap.UID, op imap.StoreFlagsOp, flag imap.Flag) {
		t.Helper()
		if err := c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: op, Silent: true, Flags: []imap.Flag{flag}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
	}
	storeFlags(1, imap.StoreFlagsDel, "$Label1")
	storeFlags(2, imap.StoreFlagsAdd, imap.FlagSeen)
	if err := c.Delete("Công văn đến.2024").Wait(); err != nil {
		t.Fatal(err)
	}
	appendOld(t, c, yearOne, yearTwo, arrivedNew)
	c.Close()
	r = imp("--ca-file", d.caFile)
	if got := importedSummary(t, r.stdout); r.code != 0 || got != "imported 1 messages into "+userAn+", skipped 2 already there, 0 failed; flags of 2 brought up to date" {
		t.Errorf("third copy: exit %d, %s\n%s%s", r.code, got, r.stdout, r.stderr)
	}

	// Many accounts from a CSV file, the old server's master user logging in for each.
	e.ok(goodPassword+"\n", "user", "add", "binh.tt@"+domain)
	csvPath := filepath.Join(t.TempDir(), "accounts.csv")
	if err := os.WriteFile(csvPath, []byte("address,login,password\nbinh.tt@"+domain+","+dovecotUser+",\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = e.run(dovecotAdminSecret+"\n", "import", "imap", "--host", d.addr, "--security", "tls", "--ca-file", d.caFile,
		"--admin", dovecotAdmin, "--accounts", csvPath, "--report", filepath.Join(t.TempDir(), "report.txt"))
	if r.code != 0 || !regexp.MustCompile(`binh\.tt@vinhyen\.gov\.vn\s+9\s+0\s+0\s+ok`).MatchString(r.stdout) {
		t.Errorf("copy of many accounts: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	imaps := testnet.FreeAddr(t)
	serveOn(t, e, testnet.FreeAddr(t), imaps)
	checkImported(t, imaps, map[string][]importedMessage{
		"INBOX":             {report.imported(`\Seen`), noID.imported(`\Seen`), arrivedNew.imported()},
		"Công văn đến":      {incoming.imported(`\Answered`, `\Flagged`, "CongViec")},
		"Công văn đến/2024": {yearOne.imported(), yearTwo.imported(`\Seen`)},
		"Sent":              {sent.imported(`\Seen`)},
		"Sent/2019":         {sentOld.imported(`\Seen`)},
		"Trash":             {deleted.imported(`\Seen`, `\Deleted`)},
		"Rỗng":              nil,
	})
}

// TestImportFromThisServer copies an account of a running mailserver into another account of the same server,
// over IMAP while it serves: the migration between two installations of this server.
func TestImportFromThisServer(t *testing.T) {
	e := newEnv(t)
	imaps := testnet.FreeAddr(t)
	serveOn(t, e, testnet.FreeAddr(t), imaps)
	const binh = "binh.tt@" + domain
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)
	e.ok(goodPassword+"\n", "user", "add", binh)

	c, err := imapclient.DialTLS(imaps, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(binh, goodPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2024, 11, 20, 14, 0, 0, 0, time.UTC)
	msgs := []oldMessage{
		{"INBOX", "Message-ID: <a@vinhyen.gov.vn>\r\nSubject: =?UTF-8?Q?B=C3=A1o_c=C3=A1o?=\r\n\r\nx\r\n", []imap.Flag{imap.FlagSeen, "$Forwarded"}, day},
		{"Công văn đến/2024", "Subject: nested\r\n\r\ny\r\n", []imap.Flag{imap.FlagFlagged}, day.Add(time.Hour)},
		{"Sent", "Message-ID: <b@vinhyen.gov.vn>\r\nSubject: sent\r\n\r\nz\r\n", []imap.Flag{imap.FlagSeen}, day.Add(2 * time.Hour)},
	}
	appendOld(t, c, msgs...)

	args := []string{"import", "imap", "--host", imaps, "--security", "tls", "--insecure-skip-verify", "--user", binh, "--into", userAn}
	if got := importedSummary(t, e.ok(goodPassword+"\n", args...)); got != "imported 3 messages into "+userAn+", skipped 0 already there, 0 failed" {
		t.Errorf("copy: %s", got)
	}
	// Mail that arrives at the source afterwards is what the next run copies.
	late := oldMessage{"INBOX", "Subject: late\r\n\r\nw\r\n", nil, day.Add(3 * time.Hour)}
	appendOld(t, c, late)
	if got := importedSummary(t, e.ok(goodPassword+"\n", args...)); got != "imported 1 messages into "+userAn+", skipped 0 already there, 0 failed" {
		t.Errorf("second copy: %s", got)
	}
	checkImported(t, imaps, map[string][]importedMessage{
		"INBOX":             {msgs[0].imported(`\Seen`, "$Forwarded"), late.imported()},
		"Công văn đến/2024": {msgs[1].imported(`\Flagged`)},
		"Sent":              {msgs[2].imported(`\Seen`)},
	})
}

// BenchmarkImportFromDovecot copies an account of 20 KiB messages from a private Dovecot (IMAPS on loopback) into
// a running mailserver (fsync on) with the import command, and reports messages per second. The count is
// MAILSERVER_BENCH_IMAP_MESSAGES (default 2,000), split between INBOX and two folders.
func BenchmarkImportFromDovecot(b *testing.B) {
	n := 2000
	if v := os.Getenv("MAILSERVER_BENCH_IMAP_MESSAGES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 3 || n > 1_000_000 {
			b.Fatalf("MAILSERVER_BENCH_IMAP_MESSAGES=%q: a count from 3 to 1000000", v)
		}
	}
	d := startDovecot(b)
	filler := strings.Repeat("Báo cáo tình hình thực hiện nhiệm vụ tháng 11 của phường. ", 20<<10/60)
	message := func(folder string) func(i int) []byte {
		return func(i int) []byte {
			return fmt.Appendf(nil, "Message-ID: <%s-%d@old.vinhyen.gov.vn>\r\nFrom: a@old.vinhyen.gov.vn\r\n"+
				"Subject: Công văn số %d\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", folder, i, i, filler)
		}
	}
	for _, folder := range []string{"", "Công văn", "Lưu trữ"} {
		d.writeMaildir(b, mailfile.EncodeFolderName(folder), n/3, message(folder))
	}
	total := n / 3 * 3
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b)
		serveOn(b, e, testnet.FreeAddr(b), testnet.FreeAddr(b))
		e.ok("", "domain", "add", domain)
		e.ok(goodPassword+"\n", "user", "add", userAn)
		b.StartTimer()
		out := e.ok(dovecotPassword+"\n", "import", "imap", "--host", d.addr, "--security", "tls", "--ca-file", d.caFile,
			"--user", dovecotUser, "--into", userAn)
		b.StopTimer()
		if want := fmt.Sprintf("imported %d messages into", total); !strings.Contains(out, want) {
			b.Fatalf("want %q:\n%s", want, out)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "messages/s")
}

// cuttingProxy forwards TCP connections to target, and cuts each after the server has sent limit bytes (0: never);
// the limit can change between connections.
type cuttingProxy struct {
	ln     net.Listener
	target string
	limit  atomic.Int64
}

func startCuttingProxy(t *testing.T, target string) *cuttingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(client)
		}
	}()
	return p
}

func (p *cuttingProxy) forward(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	go io.Copy(server, client)
	var from io.Reader = server
	if limit := p.limit.Load(); limit > 0 {
		from = io.LimitReader(server, limit)
	}
	io.Copy(client, from)
}

// TestImportFromDovecotResumesAfterACut loses the connection to the old server in the middle of a copy: the run
// fails, what it committed stays, and the next run copies exactly the rest.
func TestImportFromDovecotResumesAfterACut(t *testing.T) {
	d := startDovecot(t)
	const n = 1200 // more than two batches
	d.writeMaildir(t, "", n, func(i int) []byte {
		return fmt.Appendf(nil, "Message-ID: <cut-%d@old.vinhyen.gov.vn>\r\nSubject: %d\r\n\r\n%s\r\n", i, i, strings.Repeat("x", 1000))
	})
	proxy := startCuttingProxy(t, d.addr)
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)
	args := []string{"import", "imap", "--host", proxy.ln.Addr().String(), "--security", "tls", "--ca-file", d.caFile,
		"--user", dovecotUser, "--into", userAn}

	// About 1,000 bytes a message: the cut comes while the second batch of 500 is being fetched.
	proxy.limit.Store(800 << 10)
	r := e.run(dovecotPassword+"\n", args...)
	if r.code == 0 || !strings.Contains(r.stderr, "run the same command again") {
		t.Fatalf("a cut connection: exit %d, stderr %q\n%s", r.code, r.stderr, r.stdout)
	}
	first := importedSummary(t, r.stdout)
	if first != "imported 500 messages into "+userAn+", skipped 0 already there, 0 failed" {
		t.Errorf("cut run: %s (%s)", first, r.stderr)
	}
	proxy.limit.Store(0)
	second := importedSummary(t, e.ok(dovecotPassword+"\n", args...))
	if second != fmt.Sprintf("imported %d messages into %s, skipped 0 already there, 0 failed", n-500, userAn) {
		t.Errorf("resumed run: %s", second)
	}
}
