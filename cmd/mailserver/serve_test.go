package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailserver/internal/ctl"
	"mailserver/internal/store"
)

// TestServe runs "mailserver serve" and administers it through its control socket with the same commands that
// work on a stopped server, then stops it with SIGTERM.
func TestServe(t *testing.T) {
	e := newEnv(t)
	cfg := "data_dir = \"data\"\nhostname = \"mail.vinhyen.gov.vn\"\n" +
		"[smtp]\nmx = \"127.0.0.1:0\"\nsubmission = \"127.0.0.1:0\"\nsubmissions = \"127.0.0.1:0\"\n" +
		"[imap]\nlisten = \"127.0.0.1:0\"\nlisten_tls = \"127.0.0.1:0\"\n" +
		"[http]\nlisten = \"127.0.0.1:0\"\nlisten_tls = \"127.0.0.1:0\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n[sieve]\nmanagesieve = \"127.0.0.1:0\"\n[dns]\nsystem = false\n"
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := exec.Command(binary, "--config", e.config, "serve")
	var out bytes.Buffer
	srv.Stdout, srv.Stderr = &out, &out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	defer func() {
		if srv.ProcessState == nil {
			srv.Process.Kill()
			<-exited
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := ctl.Dial(e.cfg.SocketPath()); err == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("serve exited early: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the control socket never answered\n%s", out.String())
		}
	}
	if fi, err := os.Stat(e.cfg.SocketPath()); err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("control socket: %v, %v", fi, err)
	}

	e.ok("", "domain", "add", domain)
	e.fails(1, "unit vinhyen/ubnd does not exist: add it with 'mailserver unit add vinhyen/ubnd'", goodPassword+"\n",
		"user", "add", userAn, "--unit", "vinhyen/ubnd")
	e.ok("", "unit", "add", "vinhyen/ubnd", "--name", "UBND thành phố Vĩnh Yên")
	e.ok(goodPassword+"\n", "user", "add", userAn, "--name", "Nguyễn Văn An", "--quota", "2GB", "--unit", "vinhyen/ubnd")
	e.ok("", "share", "add", "vanthu@vinhyen.gov.vn", "--unit", "vinhyen/ubnd")
	e.ok("", "share", "grant", "vanthu@vinhyen.gov.vn", userAn, "--rights", "read,send")
	e.fails(1, "unit vinhyen/ubnd still has 1 account(s) (an.nv@vinhyen.gov.vn) and 1 shared mailbox(es) (vanthu@vinhyen.gov.vn): move them elsewhere with 'mailserver user move ADDRESS PATH' or remove them first",
		"", "unit", "remove", "vinhyen/ubnd")
	e.ok("", "group", "add", "lanhdao@vinhyen.gov.vn", "--policy", "members")
	e.ok("", "group", "member", "add", "lanhdao@vinhyen.gov.vn", "unit:vinhyen/ubnd")
	e.ok("", "alias", "add", "an@vinhyen.gov.vn", userAn)
	e.ok("", "quota", "set", userAn, "3GB")
	if out := e.ok("", "audit", "--account", userAn); strings.Count(out, "\n") != 3 || !strings.Contains(out, "admin:"+osUser()) {
		t.Errorf("audit through the running server:\n%s", out)
	}
	e.fails(1, "user an.nv@vinhyen.gov.vn already exists", goodPassword+"\n", "user", "add", userAn)
	e.fails(1, "the server is running: stop it first, compaction needs the store file to itself", "", "compact")
	if list := e.ok("", "user", "list"); !strings.Contains(list, "an.nv@vinhyen.gov.vn   Nguyễn Văn An  vinhyen/ubnd  3GB") {
		t.Errorf("user list through the running server:\n%s", list)
	}

	// A successor takes over an.nv's mail; staff come in from a spreadsheet.
	e.ok(goodPassword+"\n", "user", "add", "binh@vinhyen.gov.vn", "--unit", "vinhyen/ubnd")
	if out := e.ok("", "user", "handover", userAn, "binh@vinhyen.gov.vn"); !strings.HasPrefix(out,
		"handed an.nv@vinhyen.gov.vn over to binh@vinhyen.gov.vn: 6 folder(s), 0 message(s), 0B copied under \"Bàn giao/an.nv@vinhyen.gov.vn\"\n") {
		t.Errorf("handover through the running server:\n%s", out)
	}
	dir := filepath.Dir(e.config)
	staff, creds := filepath.Join(dir, "nhan-su.csv"), filepath.Join(dir, "mat-khau.csv")
	writeFile(t, staff, staffCSV([][4]string{{"Trần Thị Bích Ngọc", "vinhyen/ubnd", "", ""}, {"Đỗ Đức Đạt", "vinhyen/ubnd", "", "1GB"}}))
	if plan := planned(e.ok("", "user", "import", staff, "--dry-run")); plan[2] != "ngocttb@vinhyen.gov.vn" || plan[3] != "datdd@vinhyen.gov.vn" {
		t.Errorf("import dry run through the running server: %v", plan)
	}
	if out := e.ok("", "user", "import", staff, "--out", creds); !strings.Contains(out, "created 2 account(s)") {
		t.Errorf("import through the running server:\n%s", out)
	}
	if out := e.ok("", "user", "import", staff, "--out", creds); !strings.Contains(out, "nothing to create") {
		t.Errorf("second import through the running server:\n%s", out)
	}
	e.ok("", "user", "disable", userAn)

	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v\n%s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not stop after SIGTERM\n%s", out.String())
	}
	if _, err := os.Stat(e.cfg.SocketPath()); !os.IsNotExist(err) {
		t.Errorf("control socket left after shutdown: %v", err)
	}
	// The collector's settings are said at start: serve's own unless the environment sets GOGC.
	wantGC := "gogc=" + strconv.Itoa(serveGCPercent)
	if v := os.Getenv("GOGC"); v != "" {
		wantGC = "gogc=" + v
	}
	if !strings.Contains(out.String(), "msg=\"garbage collector\" "+wantGC) {
		t.Errorf("no %q in the start's log:\n%s", wantGC, out.String())
	}
	// Stopped, the same commands work on the file.
	if !e.account(userAn).Disabled {
		t.Error("the change made through the running server is not in the store")
	}
	passwords := readCredentials(t, creds)
	checkPassword(t, e.account("datdd@vinhyen.gov.vn"), passwords["datdd@vinhyen.gov.vn"], true)
	e.withStore(func(st *store.Store) {
		// The grant with read subscribed an.nv to the shared INBOX, so that Thunderbird shows it.
		an, _ := st.Account(userAn)
		if subs, _ := st.Subscriptions(an.ID); !slices.Contains(subs, "Shared/vanthu@vinhyen.gov.vn") {
			t.Errorf("an.nv's subscriptions after share grant: %q", subs)
		}
		heir, _ := st.Account("binh@vinhyen.gov.vn")
		if _, err := st.Mailbox(heir.ID, "Bàn giao/an.nv@vinhyen.gov.vn/INBOX"); err != nil {
			t.Errorf("the handover through the running server: %v", err)
		}
	})
	e.ok("", "user", "enable", userAn)
	if out := e.ok("", "check"); out != "store is consistent\n" {
		t.Errorf("check through the running server: %q", out)
	}
}
