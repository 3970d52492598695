package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailserver/internal/mailfile"
	"mailserver/internal/store"
	"mailserver/internal/testnet"
)

// exported is one message as an export format carries it.
type exported struct {
	folder string
	data   []byte
	flags  []string
	date   time.Time
}

// fillForExport gives address folders with Vietnamese names (one with a '.'), flags and keywords, a message with
// "From " lines in its body, one with an empty body, one with a 5 MB attachment and one of 9 MiB, and returns what the store
// holds, as IMAP FETCH BODY[] gives it (trace lines, then the message).
func fillForExport(t *testing.T, st *store.Store, address string) []exported {
	t.Helper()
	a, err := st.Account(address)
	if err != nil {
		t.Fatal(err)
	}
	folders := []string{"INBOX", "Sent", "Lưu trữ", "Lưu trữ/2025", "Dự án v1.2"}
	for _, f := range folders[1:] {
		if _, err := st.CreateMailbox(a.ID, f, ""); err != nil && !errors.Is(err, store.ErrMailboxExists) {
			t.Fatal(err)
		}
	}
	attachment := strings.Repeat(strings.Repeat("A", 76)+"\r\n", 5<<20/78)
	bodies := []struct {
		folder, body string
		flags        []string
	}{
		{"INBOX", "From: vanthu@vinhyen.gov.vn\r\nSubject: Công văn\r\n\r\nFrom the office:\r\n>From here\r\nFrom \r\n", []string{`\Seen`, "$Forwarded", "Quan_trong"}},
		{"INBOX", "From: b@vinhyen.gov.vn\r\nSubject: empty\r\n\r\n", nil},
		{"Sent", "From: an.nv@vinhyen.gov.vn\r\nSubject: Tệp\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" + attachment + "--b--\r\n",
			[]string{`\Seen`, `\Answered`, `\Flagged`}},
		{"Lưu trữ", "Subject: a\r\n\r\nbody\r\n", []string{`\Draft`, `\Deleted`}},
		{"Lưu trữ/2025", "Subject: b\r\n\r\nFrom 2025 with love\r\n", []string{"$Label1"}},
		{"Dự án v1.2", "Subject: c\r\n\r\nno final line ending", nil},
		// Larger than a batch of the control socket's export.read: it comes in two pieces.
		{"Lưu trữ/2025", "Subject: scan\r\n\r\n" + strings.Repeat("B", 9<<20) + "\r\n", []string{`\Seen`}},
	}
	date := time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("ICT", 7*3600))
	for i, b := range bodies {
		trace := []byte("Return-Path: <x@vinhyen.gov.vn>\r\nDelivered-To: " + address + "\r\n")
		if i == 1 {
			trace = nil
		}
		msg := store.NewMessage{Body: []byte(b.body), InternalDate: date.Add(time.Duration(i) * time.Hour)}
		if _, err := st.Deliver(msg, []store.Copy{{AccountID: a.ID, Mailbox: b.folder, Trace: trace, Flags: b.flags}}); err != nil {
			t.Fatal(err)
		}
	}
	var want []exported
	for _, f := range folders {
		mb, err := st.Mailbox(a.ID, f)
		if err != nil {
			t.Fatal(err)
		}
		uids, err := st.UIDs(mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := st.Messages(mb.ID, uids, store.FetchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			body := make([]byte, m.BodySize)
			if _, err := st.Body(m.Body, m.BodySize).ReadAt(body, 0); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			want = append(want, exported{f, append(m.Trace, body...), m.Flags, m.InternalDate})
		}
	}
	return want
}

// readMboxExport reads back every .mbox file of an export.
func readMboxExport(t *testing.T, dir string) []exported {
	t.Helper()
	var got []exported
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		folder, ok := strings.CutSuffix(filepath.ToSlash(rel), ".mbox")
		if !ok {
			t.Errorf("unexpected file %s", rel)
			return nil
		}
		folder = strings.ReplaceAll(folder, "%2E", ".")
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r := mailfile.NewMboxReader(f, mailfile.MboxOptions{})
		for {
			m, err := r.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			wantSender := "MAILER-DAEMON"
			if bytes.HasPrefix(m.Data, []byte("Return-Path: <x@vinhyen.gov.vn>\r\n")) {
				wantSender = "x@vinhyen.gov.vn"
			}
			if m.Sender != wantSender {
				t.Errorf("%s: From line sender %q, want %q", rel, m.Sender, wantSender)
			}
			got = append(got, exported{folder, bytes.Clone(m.Data), slices.Clone(m.Flags), m.Date})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// readMaildirExport reads back every Maildir of an export.
func readMaildirExport(t *testing.T, dir string) []exported {
	t.Helper()
	folders, err := mailfile.MaildirFolders(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []exported
	for _, f := range folders {
		r, err := mailfile.OpenMaildir(f.Dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		for {
			m, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, exported{f.Name, bytes.Clone(m.Data), slices.Clone(m.Flags), m.Date})
		}
	}
	return got
}

// sameExport compares what was read back with what the store holds: bytes, flags and dates, in any order.
func sameExport(t *testing.T, format string, got, want []exported) {
	t.Helper()
	key := func(m exported) string { return m.folder + "\x00" + string(m.data) }
	byKey := map[string]exported{}
	for _, m := range got {
		byKey[key(m)] = m
	}
	if len(got) != len(want) {
		t.Errorf("%s: read back %d messages, want %d", format, len(got), len(want))
	}
	for _, w := range want {
		g, ok := byKey[key(w)]
		switch {
		case !ok:
			t.Errorf("%s: folder %q: a message of %d bytes is missing or differs", format, w.folder, len(w.data))
		case !slices.Equal(g.flags, w.flags):
			t.Errorf("%s: folder %q: flags %q, want %q", format, w.folder, g.flags, w.flags)
		case !g.date.Equal(w.date):
			t.Errorf("%s: folder %q: date %v, want %v", format, w.folder, g.date, w.date)
		}
	}
}

// exportBoth exports address in both formats and checks that the files read back give what the store holds.
func exportBoth(t *testing.T, e *env, address string, want []exported) {
	t.Helper()
	for _, format := range []string{"mbox", "maildir"} {
		dir := filepath.Join(t.TempDir(), "out")
		out := e.ok("", "export", address, dir, "--format", format)
		if !strings.Contains(out, "7 messages") {
			t.Errorf("export %s said %q", format, out)
		}
		// Through the audit command, which works with the server running too.
		audit := e.ok("", "audit", "--limit", "1")
		if !strings.Contains(audit, "export") || !strings.Contains(audit, address) || !strings.Contains(audit, format+" to "+dir) {
			t.Errorf("audit record of the %s export: %q", format, audit)
		}
		if format == "mbox" {
			sameExport(t, format, readMboxExport(t, dir), want)
		} else {
			sameExport(t, format, readMaildirExport(t, dir), want)
		}
	}
}

func TestExportServerStopped(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)
	var want []exported
	e.withStore(func(st *store.Store) { want = fillForExport(t, st, userAn) })
	exportBoth(t, e, userAn, want)

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "old.mbox"), nil, 0o600)
	e.fails(1, "export: "+dir+" is not empty: export into a new or empty folder", "", "export", userAn, dir)
	e.fails(1, "user nobody@vinhyen.gov.vn does not exist: see 'mailserver user list'", "", "export", "nobody@vinhyen.gov.vn", filepath.Join(dir, "x"))
}

func TestExportServerRunning(t *testing.T) {
	const shared = "vanthu@vinhyen.gov.vn"
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok("", "share", "add", shared)
	var want []exported
	e.withStore(func(st *store.Store) { want = fillForExport(t, st, shared) })
	serveOn(t, e, testnet.FreeAddr(t), testnet.FreeAddr(t))
	exportBoth(t, e, shared, want)
}

// TestExportImportRoundTrip: an account exported, imported into another account and exported again gives the same
// bytes, flags and dates in the same folders, in both formats: what export writes, import reads back without loss.
// The one change is import's: a folder named like a special-use one in another language ("Lưu trữ" is Vietnamese
// for Archive) is filed there, with its sub-folders.
func TestExportImportRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)
	var want []exported
	e.withStore(func(st *store.Store) { want = fillForExport(t, st, userAn) })
	for i := range want {
		want[i].folder = mailfile.MapFolder(want[i].folder)
	}
	for _, format := range []string{"mbox", "maildir"} {
		copyOf := format + "@" + domain
		e.ok(goodPassword+"\n", "user", "add", copyOf)
		first := filepath.Join(t.TempDir(), "first")
		e.ok("", "export", userAn, first, "--format", format)
		e.ok("", "import", format, first, "--into", copyOf)
		second := filepath.Join(t.TempDir(), "second")
		e.ok("", "export", copyOf, second, "--format", format)
		if format == "mbox" {
			sameExport(t, format, readMboxExport(t, second), want)
		} else {
			sameExport(t, format, readMaildirExport(t, second), want)
		}
	}
}
