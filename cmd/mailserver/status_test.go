package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
	"mailserver/internal/store"
	"mailserver/internal/testnet"
)

// wantLines fails unless out holds every line of want, whole.
func wantLines(t *testing.T, what, out string, want ...string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			found = found || l == w
		}
		if !found {
			t.Errorf("%s: no line %q in\n%s", what, w, out)
		}
	}
}

// statusOf runs status and checks its exit status; not running, it must also say so on standard error.
func statusOf(e *env, running bool) string {
	e.t.Helper()
	r := e.run("", "status")
	want, stderr := 0, ""
	if !running {
		want, stderr = exitNotRunning, "mailserver: the server is not running\n"
	}
	if r.code != want || r.stderr != stderr {
		e.t.Fatalf("status: exit %d, stderr %q; want %d, %q\n%s", r.code, r.stderr, want, stderr, r.stdout)
	}
	if !strings.HasPrefix(r.stdout, "mailserver ") || !strings.Contains(strings.SplitN(r.stdout, "\n", 2)[0], runtime.Version()) {
		e.t.Errorf("status does not start with this command's version:\n%s", r.stdout)
	}
	return r.stdout
}

// With no server running, status says so with exit status 3, and shows what the data file holds; where there is
// no data file yet, it does not make one.
func TestStatusServerStopped(t *testing.T) {
	e := newEnv(t)
	out := statusOf(e, false)
	wantLines(t, "status before the first start", out, "server:         not running",
		"store:          "+e.cfg.DBPath()+" does not exist yet (the server makes it when it first starts)")
	if _, err := os.Stat(e.cfg.DataDir); !os.IsNotExist(err) {
		t.Errorf("status made the data folder: %v", err)
	}

	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)
	e.ok("", "share", "add", "vanthu@vinhyen.gov.vn")
	e.withStore(func(st *store.Store) { fillQueue(t, st, time.Now()) })
	out = statusOf(e, false)
	wantLines(t, "status of a stopped server", out, "server:         not running", "domains:        1",
		"accounts:       2 (1 of them shared mailboxes)", "queue:          2 message(s), the oldest 2h13m old",
		"last backup:    none", "warning: no backup recorded: take one with 'mailserver backup FILE' and schedule it nightly")
	if !strings.Contains(out, "store:          "+e.cfg.DBPath()+", ") {
		t.Errorf("status names no store file:\n%s", out)
	}
}

// A running server tells its version, since when it runs and the addresses it listens on; a recent backup silences
// the warning, one older than two days brings it back; stopped, the same facts come from the file.
func TestStatusServerRunning(t *testing.T) {
	e := envWithAn(t)
	mx, imaps := testnet.FreeAddr(t), testnet.FreeAddr(t)
	stop := serveOn(t, e, mx, imaps)

	out := statusOf(e, true)
	self := strings.SplitN(out, "\n", 2)[0]
	wantLines(t, "status of a running server", out, "server version: "+self,
		"listening:      mx           "+mx, "                imaps        "+imaps,
		"control socket: "+e.cfg.SocketPath(), "domains:        1", "accounts:       1 (0 of them shared mailboxes)",
		"queue:          empty", "last backup:    none",
		"warning: no backup recorded: take one with 'mailserver backup FILE' and schedule it nightly")
	if !strings.Contains(out, "server:         running since ") {
		t.Errorf("status does not say since when the server runs:\n%s", out)
	}

	e.ok("", "backup", filepath.Join(filepath.Dir(e.config), "mail-backup.db"))
	if out := statusOf(e, true); strings.Contains(out, "warning:") || !strings.Contains(out, "mail-backup.db, ") {
		t.Errorf("status after a backup:\n%s", out)
	}
	client, err := ctl.Dial(e.cfg.SocketPath())
	if err != nil {
		t.Fatal(err)
	}
	old := admin.BackupNote{Time: time.Now().Add(-3*24*time.Hour - 30*time.Minute), File: "/var/backups/mail-old.db", Size: 1 << 20, Messages: 7}
	if err := ctl.Do(client, ctl.BackupRecord, old); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "status after a backup three days ago", statusOf(e, true),
		"last backup:    "+backupSummary(old)+" (3d0h ago)", "warning: the last backup is 3d0h old: check the nightly backup")

	stop()
	wantLines(t, "status once stopped", statusOf(e, false), "server:         not running", "domains:        1",
		"last backup:    "+backupSummary(old)+" (3d0h ago)")
}

// 'mailserver version' and 'mailserver --version' print this build's one line.
func TestVersion(t *testing.T) {
	long, short := runBinary(t, "", "version"), runBinary(t, "", "--version")
	if long.code != 0 || long.stdout != short.stdout || short.code != 0 {
		t.Fatalf("version: %+v; --version: %+v", long, short)
	}
	if !strings.HasPrefix(long.stdout, "mailserver ") || !strings.HasSuffix(long.stdout, runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+")\n") {
		t.Errorf("version: %q", long.stdout)
	}
}
