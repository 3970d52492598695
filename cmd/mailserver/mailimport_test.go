package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/store"
	"mailserver/internal/testnet"
)

// importedMessage is what an IMAP client must see of one imported message.
type importedMessage struct {
	body  string
	flags []string
	date  time.Time
}

// mailFixtures writes an mbox file with LF endings, one with CRLF endings, a Maildir tree and an .eml tree, and
// returns what each folder must hold after importing them all.
func mailFixtures(t *testing.T, dir string) map[string][]importedMessage {
	t.Helper()
	write := func(path, data string, mtime time.Time) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if !mtime.IsZero() {
			if err := os.Chtimes(path, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
	}
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	jan1 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	jan2 := time.Date(2024, 1, 2, 9, 30, 0, 0, time.UTC)
	lfMsg := "Message-ID: <lf1@vinhyen.gov.vn>\nSubject: Báo cáo\n\nFrom the office of the chairman: a line a reader must keep.\n"
	write(filepath.Join(dir, "Sent Items"), "From an@vinhyen.gov.vn Mon Jan  1 00:00:00 2024\n"+lfMsg+
		"\nFrom x@y Tue Jan  2 09:30:00 2024\nStatus: RO\n", time.Time{})
	crlfMsg := "Message-ID: <crlf1@vinhyen.gov.vn>\nSubject: CRLF\n\nbody\n"
	write(filepath.Join(dir, "crlf.mbox"), crlf("From an@vinhyen.gov.vn Mon Jan  1 00:00:00 2024\n"+crlfMsg+"\n"), time.Time{})

	md := filepath.Join(dir, "Maildir")
	mtime := time.Date(2023, 5, 6, 7, 8, 9, 0, time.UTC)
	write(filepath.Join(md, "dovecot-keywords"), "0 $Label1\n1 Công_việc\n", time.Time{})
	write(filepath.Join(md, "cur", "1700000000.M1P1.host:2,FSa"), crlf("Subject: cờ\n\nđã đọc\n"), mtime)
	write(filepath.Join(md, "new", "1700000001.M2P1.host"), crlf("Subject: mới\n\nchưa đọc\n"), mtime)
	write(filepath.Join(md, ".Sent", "cur", "1700000002.M3P1.host:2,S"), crlf("Subject: đã gửi\n\nx\n"), mtime)
	os.MkdirAll(filepath.Join(md, "tmp"), 0o700)
	os.MkdirAll(filepath.Join(md, ".Sent", "new"), 0o700)
	os.MkdirAll(filepath.Join(md, ".Sent", "tmp"), 0o700)

	eml := filepath.Join(dir, "eml")
	dated := crlf("Date: Tue, 2 Jan 2024 16:30:00 +0700\nSubject: Công văn\n\nnội dung\n")
	write(filepath.Join(eml, "Công văn đến", "2024", "a.eml"), dated, time.Time{})
	undated := crlf("Subject: không ngày\n\nx\n")
	write(filepath.Join(eml, "Thư đã gửi", "b.eml"), undated, mtime)

	return map[string][]importedMessage{
		"Sent": {
			{crlf(lfMsg), nil, jan1},
			{"", []string{`\Seen`}, jan2},
			{crlf("Subject: đã gửi\n\nx\n"), []string{`\Seen`}, mtime},
			{undated, nil, mtime},
		},
		"crlf": {{crlf(crlfMsg), nil, jan1}},
		"INBOX": {
			{crlf("Subject: cờ\n\nđã đọc\n"), []string{`\Seen`, `\Flagged`, "$Label1"}, mtime},
			{crlf("Subject: mới\n\nchưa đọc\n"), nil, mtime},
		},
		"Công văn đến/2024": {{dated, nil, time.Date(2024, 1, 2, 9, 30, 0, 0, time.UTC)}},
	}
}

// importAll imports every fixture and returns the summaries.
func importAll(e *env, dir string) string {
	var out strings.Builder
	for _, args := range [][]string{
		{"mbox", filepath.Join(dir, "Sent Items")},
		{"mbox", filepath.Join(dir, "crlf.mbox")},
		{"maildir", filepath.Join(dir, "Maildir")},
		{"eml", filepath.Join(dir, "eml")},
	} {
		out.WriteString(e.ok("", append([]string{"import"}, append(args, "--into", userAn)...)...))
	}
	return out.String()
}

// importTwice imports every fixture, then again, which must import nothing.
func importTwice(t *testing.T, e *env, dir string) {
	t.Helper()
	if first := importAll(e, dir); strings.Count(first, ", 0 failed") != 4 || strings.Contains(first, "imported 0 messages") {
		t.Errorf("first import:\n%s", first)
	}
	if second := importAll(e, dir); strings.Count(second, "imported 0 messages into") != 4 {
		t.Errorf("a second import imported again:\n%s", second)
	}
}

// checkImported reads every folder over IMAP and compares bytes (BODY[]), flags and INTERNALDATE.
func checkImported(t *testing.T, imaps string, want map[string][]importedMessage) {
	t.Helper()
	c := loginIMAPS(t, imaps)
	defer c.Close()
	section := &imap.FetchItemBodySection{Peek: true}
	for folder, msgs := range want {
		sel, err := c.Select(folder, nil).Wait()
		if err != nil {
			t.Fatalf("select %q: %v", folder, err)
		}
		if int(sel.NumMessages) != len(msgs) {
			t.Errorf("%s holds %d messages, want %d", folder, sel.NumMessages, len(msgs))
			continue
		}
		if len(msgs) == 0 {
			continue
		}
		got, err := c.Fetch(imap.SeqSetNum(seqRange(sel.NumMessages)...), &imap.FetchOptions{Flags: true,
			InternalDate: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range got {
			w := msgs[i]
			if body := string(m.FindBodySection(section)); body != w.body {
				t.Errorf("%s #%d BODY[] %q, want %q", folder, i+1, body, w.body)
			}
			var flags []string
			for _, f := range m.Flags {
				// This session is the first to select the folder, so every message is \Recent in it: the
				// server's flag, not one the import brought.
				if f != `\Recent` {
					flags = append(flags, string(f))
				}
			}
			if !slices.Equal(flags, w.flags) && !(len(flags) == 0 && len(w.flags) == 0) {
				t.Errorf("%s #%d flags %v, want %v", folder, i+1, flags, w.flags)
			}
			if !m.InternalDate.Equal(w.date) {
				t.Errorf("%s #%d INTERNALDATE %v, want %v", folder, i+1, m.InternalDate, w.date)
			}
		}
	}
}

func TestImportWithServerStopped(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)
	dir := t.TempDir()
	want := mailFixtures(t, dir)
	importTwice(t, e, dir)
	imaps := testnet.FreeAddr(t)
	serveOn(t, e, testnet.FreeAddr(t), imaps)
	checkImported(t, imaps, want)
}

func TestImportReportsOversizedMessages(t *testing.T) {
	e := newEnv(t)
	if err := os.WriteFile(e.config, []byte("data_dir = \"data\"\nhostname = \"mail.vinhyen.gov.vn\"\n[smtp]\nmax_message_size = \"1KB\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)
	dir := t.TempDir()
	var mbox strings.Builder
	for i := range 3 {
		body := "small"
		if i == 1 {
			body = strings.Repeat("x", 2000)
		}
		fmt.Fprintf(&mbox, "From an@vinhyen.gov.vn Mon Jan  1 00:00:0%d 2024\nMessage-ID: <%d@x>\n\n%s\n\n", i, i, body)
	}
	path := filepath.Join(dir, "Archive.mbox")
	if err := os.WriteFile(path, []byte(mbox.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "report.txt")
	out := e.ok("", "import", "mbox", path, "--into", userAn, "--report", report)
	if !strings.Contains(out, "imported 2 messages") || !strings.Contains(out, "1 failed") || !strings.Contains(out, report) {
		t.Errorf("summary:\n%s", out)
	}
	listed, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(listed)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "larger than the maximum size") {
		t.Errorf("report %q", listed)
	}
}

// With the server running the import goes through its control socket (the server holds the store's lock), and an
// IMAP client sees the same messages as after an import with the server stopped.
func TestImportWithServerRunning(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)
	dir := t.TempDir()
	want := mailFixtures(t, dir)
	imaps := testnet.FreeAddr(t)
	serveOn(t, e, testnet.FreeAddr(t), imaps)
	importTwice(t, e, dir)
	checkImported(t, imaps, want)
}

// A directory of mbox files is Thunderbird's local folders: each file is a folder, "X.sbd" holds X's sub-folders,
// and the index and settings files are not mail.
func TestImportMboxTree(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)
	root := filepath.Join(t.TempDir(), "Local Folders")
	files := map[string]string{
		"Inbox":                  "From - Mon Jan  1 00:00:00 2024\nSubject: 1\n\nx\n\nFrom - Mon Jan  1 00:00:01 2024\nSubject: 2\n\ny\n",
		"Inbox.msf":              "// <!-- <mdb:mork:z v=\"1.4\"/> -->\n",
		"Inbox.sbd/Công văn":     "From - Mon Jan  1 00:00:00 2024\nSubject: 3\n\nz\n",
		"Sent":                   "From - Mon Jan  1 00:00:00 2024\nSubject: 4\n\nw\n",
		"msgFilterRules.dat":     "version=\"9\"\n",
		"Inbox.sbd/Công văn.msf": "",
	}
	for name, data := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := e.ok("", "import", "mbox", root, "--into", userAn, "--folder", "Thunderbird")
	if !strings.Contains(out, "imported 4 messages") || !strings.Contains(out, ", 0 failed") {
		t.Errorf("summary:\n%s", out)
	}
	st, err := store.Open(e.cfg.DBPath(), store.Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.Account(userAn)
	if err != nil {
		t.Fatal(err)
	}
	for folder, n := range map[string]uint32{"Thunderbird": 2, "Thunderbird/Công văn": 1, "Thunderbird/Sent": 1} {
		if mb, err := st.Mailbox(a.ID, folder); err != nil || mb.Messages != n {
			t.Errorf("%s: %+v, %v; want %d messages", folder, mb, err, n)
		}
	}
}
