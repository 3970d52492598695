package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/auth"
	"mailserver/internal/config"
	"mailserver/internal/ctl"
	"mailserver/internal/store"
)

// binary is the mailserver command built once by TestMain; the tests run it as an administrator would.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mailserver-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "mailserver")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building mailserver:", err)
		return 1
	}
	return m.Run()
}

const (
	goodPassword = "Mat-khau-2024"
	domain       = "vinhyen.gov.vn"
	userAn       = "an.nv@vinhyen.gov.vn"
)

// env is a configuration file with a data folder of its own.
type env struct {
	t      testing.TB
	config string
	cfg    config.Config
}

// newEnv writes a config file whose data folder is fresh. The folder name is short because the control socket's
// path is limited to about 100 bytes, which t.TempDir's names can exceed.
func newEnv(t testing.TB) *env {
	t.Helper()
	dir, err := os.MkdirTemp("", "ms")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "mailserver.toml")
	toml := "data_dir = \"data\"\nhostname = \"mail.vinhyen.gov.vn\"\n"
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, config: path, cfg: cfg}
}

// result is what a run of the command produced.
type result struct {
	stdout, stderr string
	code           int
}

// run runs mailserver --config <env's file> args... with stdin as standard input.
func (e *env) run(stdin string, args ...string) result {
	e.t.Helper()
	return runBinary(e.t, stdin, append([]string{"--config", e.config}, args...)...)
}

func runBinary(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("mailserver %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ok runs a command that must succeed and returns its standard output.
func (e *env) ok(stdin string, args ...string) string {
	e.t.Helper()
	r := e.run(stdin, args...)
	if r.code != 0 || r.stderr != "" {
		e.t.Fatalf("mailserver %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// fails runs a command that must fail with exit code code and exactly the one stderr line "mailserver: " + reason.
func (e *env) fails(code int, reason, stdin string, args ...string) {
	e.t.Helper()
	r := e.run(stdin, args...)
	checkFailure(e.t, r, code, reason, args)
}

func checkFailure(t testing.TB, r result, code int, reason string, args []string) {
	t.Helper()
	if r.code != code {
		t.Errorf("mailserver %s: exit %d, want %d (stderr %q)", strings.Join(args, " "), r.code, code, r.stderr)
	}
	if want := "mailserver: " + reason + "\n"; r.stderr != want {
		t.Errorf("mailserver %s: stderr\n got: %q\nwant: %q", strings.Join(args, " "), r.stderr, want)
	}
	if r.stdout != "" {
		t.Errorf("mailserver %s: a failure printed %q on stdout", strings.Join(args, " "), r.stdout)
	}
}

// account reads an account straight from the store; no server or command may be running on it.
func (e *env) account(address string) store.Account {
	e.t.Helper()
	st, err := store.Open(e.cfg.DBPath(), store.Options{LockTimeout: time.Second})
	if err != nil {
		e.t.Fatal(err)
	}
	defer st.Close()
	a, err := st.Account(address)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// checkPassword verifies pw against a's hash. The binary hashes with production costs, which the race detector
// makes slow: check each hash once and compare hashes for "unchanged".
func checkPassword(t *testing.T, a store.Account, pw string, want bool) {
	t.Helper()
	ok, err := auth.Verify(a.PasswordHash, pw)
	if err != nil || ok != want {
		t.Errorf("password %q for %s: verifies %v (%v), want %v", pw, a.Address, ok, err, want)
	}
}

func TestDomainAddListRemove(t *testing.T) {
	e := newEnv(t)
	if out := e.ok("", "domain", "list"); out != "" {
		t.Errorf("domain list on a new store: %q", out)
	}
	if out := e.ok("", "domain", "add", "VinhYen.gov.vn"); out != "added domain vinhyen.gov.vn; publish its DNS records: mailserver domain dns vinhyen.gov.vn\n" {
		t.Errorf("domain add: %q", out)
	}
	e.ok("", "domain", "add", "phucyen.vinhphuc.gov.vn")
	if out := e.ok("", "domain", "list"); out != "phucyen.vinhphuc.gov.vn\nvinhyen.gov.vn\n" {
		t.Errorf("domain list: %q", out)
	}
	e.fails(1, "domain vinhyen.gov.vn already exists", "", "domain", "add", domain)
	e.fails(1, `invalid domain name "vinh yen": use only letters, digits, '-' and '.'`, "", "domain", "add", "vinh yen")
	e.ok("", "domain", "remove", "phucyen.vinhphuc.gov.vn")
	if out := e.ok("", "domain", "list"); out != "vinhyen.gov.vn\n" {
		t.Errorf("domain list after remove: %q", out)
	}
	e.fails(1, "domain phucyen.vinhphuc.gov.vn does not exist: see 'mailserver domain list'", "",
		"domain", "remove", "phucyen.vinhphuc.gov.vn")
	e.ok(goodPassword+"\n", "user", "add", userAn)
	e.fails(1, "domain vinhyen.gov.vn still has 1 user(s) (an.nv@vinhyen.gov.vn): remove them first with 'mailserver user remove ADDRESS'",
		"", "domain", "remove", domain)
	if fi, err := os.Stat(e.cfg.DataDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data folder: %v %v, want mode 0700", fi.Mode(), err)
	}
}

// A domain with an internationalised name can be given in Unicode: the CLI says, and lists, the form it is stored
// in, and takes either form afterwards.
func TestUnicodeDomain(t *testing.T) {
	e := newEnv(t)
	if out := e.ok("", "domain", "add", "Huế.vn"); out != "added domain xn--hu-07s.vn; publish its DNS records: mailserver domain dns xn--hu-07s.vn\n" {
		t.Errorf("domain add: %q", out)
	}
	e.fails(1, "domain xn--hu-07s.vn already exists", "", "domain", "add", "xn--hu-07s.vn")
	e.ok(goodPassword+"\n", "user", "add", "An@huế.vn")
	if out := e.ok("", "user", "disable", "AN@HUẾ.VN"); out != "disabled an@xn--hu-07s.vn\n" {
		t.Errorf("user disable: %q", out)
	}
	if out := e.ok("", "domain", "list"); out != "xn--hu-07s.vn\n" {
		t.Errorf("domain list: %q", out)
	}
}

func TestUserAddAndList(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok("", "unit", "add", "vinhyen/ubnd/phong-noi-vu", "--name", "Phòng Nội vụ")
	out := e.ok(goodPassword+"\n", "user", "add", userAn, "--name", "Nguyễn Văn An",
		"--unit", "vinhyen/ubnd/phong-noi-vu", "--quota", "2GB")
	if out != "added user an.nv@vinhyen.gov.vn\n" {
		t.Errorf("user add: %q", out)
	}
	a := e.account(userAn)
	if a.Name != "Nguyễn Văn An" || a.Unit != "vinhyen/ubnd/phong-noi-vu" || a.Quota != 2<<30 || a.Disabled {
		t.Errorf("stored account: %+v", a)
	}
	checkPassword(t, a, goodPassword, true)

	// A password from a Windows pipe ends in CRLF; only the line ending is removed.
	e.ok("Mat khau co dau cach 1\r\n", "user", "add", "vanthu@vinhyen.gov.vn", "--name", "Văn thư UBND")
	checkPassword(t, e.account("vanthu@vinhyen.gov.vn"), "Mat khau co dau cach 1", true)
	e.ok("", "user", "disable", "vanthu@vinhyen.gov.vn")

	want := "" +
		"ADDRESS                NAME           UNIT                       QUOTA      USED  STATUS\n" +
		"an.nv@vinhyen.gov.vn   Nguyễn Văn An  vinhyen/ubnd/phong-noi-vu  2GB        0B    active\n" +
		"vanthu@vinhyen.gov.vn  Văn thư UBND   -                          unlimited  0B    disabled\n"
	if got := e.ok("", "user", "list"); got != want {
		t.Errorf("user list\n got:\n%s\nwant:\n%s", got, want)
	}
}

func TestUserAddErrors(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)

	e.fails(1, "user an.nv@vinhyen.gov.vn already exists", goodPassword+"\n", "user", "add", userAn)
	e.fails(1, "domain phucyen.gov.vn does not exist: add it with 'mailserver domain add phucyen.gov.vn'",
		goodPassword+"\n", "user", "add", "binh@phucyen.gov.vn")
	e.fails(1, "password must be at least 10 characters", "Ngan-1\n", "user", "add", "binh@vinhyen.gov.vn")
	e.fails(1, "password must mix at least two kinds of characters: lower-case letters, upper-case letters, digits, symbols",
		"matkhaudaiqua\n", "user", "add", "binh@vinhyen.gov.vn")
	const empty = "password must not be empty (it is read from the first line of standard input)"
	e.fails(1, empty, "", "user", "add", "binh@vinhyen.gov.vn")
	e.fails(1, empty, "\n"+goodPassword+"\n", "user", "add", "binh@vinhyen.gov.vn")
	e.fails(1, `--quota: invalid size "2XB": unknown unit "XB" (use B, KB, MB, GB or TB)`,
		goodPassword+"\n", "user", "add", "binh@vinhyen.gov.vn", "--quota", "2XB")
	e.fails(1, `invalid unit "/ubnd": write it like vinhyen/ubnd/phong-noi-vu, without empty parts or a leading or trailing '/'`,
		goodPassword+"\n", "user", "add", "binh@vinhyen.gov.vn", "--unit", "/ubnd")
	e.fails(1, "unit vinhyen/ubnd does not exist: add it with 'mailserver unit add vinhyen/ubnd'",
		goodPassword+"\n", "user", "add", "binh@vinhyen.gov.vn", "--unit", "vinhyen/ubnd")
	e.fails(1, `invalid address "binh": it must look like an.nv@vinhyen.gov.vn`, goodPassword+"\n", "user", "add", "binh")
	if out := e.ok("", "user", "list"); strings.Count(out, "\n") != 2 {
		t.Errorf("failed adds left users behind:\n%s", out)
	}
}

func TestUserPasswdDisableEnableRemove(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)

	const newPassword = "Mat-khau-moi-2025"
	if out := e.ok(newPassword+"\n", "user", "passwd", "AN.NV@vinhyen.gov.vn"); out != "changed the password of an.nv@vinhyen.gov.vn\n" {
		t.Errorf("passwd: %q", out)
	}
	a := e.account(userAn)
	checkPassword(t, a, newPassword, true)
	checkPassword(t, a, goodPassword, false)
	e.fails(1, "password must be at least 10 characters", "short\n", "user", "passwd", userAn)
	e.fails(1, "password must not be empty (it is read from the first line of standard input)", "", "user", "passwd", userAn)
	e.fails(1, "user binh@vinhyen.gov.vn does not exist: see 'mailserver user list'", newPassword+"\n",
		"user", "passwd", "binh@vinhyen.gov.vn")
	if e.account(userAn).PasswordHash != a.PasswordHash {
		t.Error("a refused password change changed the password")
	}

	if out := e.ok("", "user", "disable", userAn); out != "disabled an.nv@vinhyen.gov.vn\n" {
		t.Errorf("disable: %q", out)
	}
	if !e.account(userAn).Disabled {
		t.Error("disable did not disable")
	}
	if out := e.ok("", "user", "list"); !strings.Contains(out, "disabled") {
		t.Errorf("user list does not show the user disabled:\n%s", out)
	}
	if out := e.ok("", "user", "enable", userAn); out != "enabled an.nv@vinhyen.gov.vn\n" {
		t.Errorf("enable: %q", out)
	}
	if e.account(userAn).Disabled {
		t.Error("enable did not enable")
	}
	for _, op := range []string{"disable", "enable", "remove"} {
		e.fails(1, "user binh@vinhyen.gov.vn does not exist: see 'mailserver user list'", "", "user", op, "binh@vinhyen.gov.vn")
	}
	if out := e.ok("", "user", "remove", userAn); out != "removed user an.nv@vinhyen.gov.vn\n" {
		t.Errorf("remove: %q", out)
	}
	if out := e.ok("", "user", "list"); out != "ADDRESS  NAME  UNIT  QUOTA  USED  STATUS\n" {
		t.Errorf("user list after remove: %q", out)
	}
	if out := e.ok("", "check"); out != "store is consistent\n" {
		t.Errorf("check: %q", out)
	}
	if out := e.ok("", "reindex"); !strings.HasPrefix(out, "search index rebuilt: ") {
		t.Errorf("reindex: %q", out)
	}
	if out := e.ok("", "compact"); !strings.HasPrefix(out, "compacted "+e.cfg.DBPath()+": ") {
		t.Errorf("compact: %q", out)
	}
	if out := e.ok("", "check"); out != "store is consistent\n" {
		t.Errorf("check after compact: %q", out)
	}
	e.ok("", "domain", "remove", domain)
}

// commands lists every command path of the contract; groups are the ones that only hold subcommands.
var commands = [][]string{
	{}, {"serve"},
	{"domain"}, {"domain", "add"}, {"domain", "list"}, {"domain", "remove"}, {"domain", "dkim"}, {"domain", "dns"},
	{"unit"}, {"unit", "add"}, {"unit", "list"}, {"unit", "set"}, {"unit", "remove"},
	{"user"}, {"user", "add"}, {"user", "list"}, {"user", "passwd"}, {"user", "disable"}, {"user", "enable"},
	{"user", "move"}, {"user", "handover"}, {"user", "remove"}, {"user", "import"},
	{"alias"}, {"alias", "add"}, {"alias", "list"}, {"alias", "remove"},
	{"group"}, {"group", "add"}, {"group", "list"}, {"group", "show"}, {"group", "set"}, {"group", "remove"},
	{"group", "member"}, {"group", "member", "add"}, {"group", "member", "remove"},
	{"group", "sender"}, {"group", "sender", "add"}, {"group", "sender", "remove"},
	{"share"}, {"share", "add"}, {"share", "grant"}, {"share", "revoke"}, {"share", "list"},
	{"sieve"}, {"sieve", "list"}, {"sieve", "get"}, {"sieve", "put"}, {"sieve", "activate"}, {"sieve", "remove"},
	{"quota"}, {"quota", "set"}, {"quota", "report"},
	{"queue"}, {"queue", "list"}, {"queue", "show"}, {"queue", "retry"}, {"queue", "remove"}, {"queue", "bounce"},
	{"audit"}, {"check"}, {"compact"}, {"reindex"},
}

var groups = map[string]bool{"": true, "domain": true, "unit": true, "user": true, "alias": true, "group": true,
	"group member": true, "group sender": true, "share": true, "sieve": true, "quota": true, "queue": true}

func TestHelp(t *testing.T) {
	for _, path := range commands {
		r := runBinary(t, "", append(path, "--help")...)
		name := strings.Join(append([]string{"mailserver"}, path...), " ")
		if r.code != 0 || r.stderr != "" {
			t.Errorf("%s --help: exit %d, stderr %q", name, r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "Usage:") || !strings.Contains(r.stdout, "--config") {
			t.Errorf("%s --help shows no usage:\n%s", name, r.stdout)
		}
		group := groups[strings.Join(path, " ")]
		if (!group || len(path) == 0) && !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("%s --help has no examples:\n%s", name, r.stdout)
		}
		if group {
			if !strings.Contains(r.stdout, "Available Commands:") {
				t.Errorf("%s --help lists no subcommands:\n%s", name, r.stdout)
			}
			continue
		}
		last := path[len(path)-1]
		if last == "list" || last == "report" || slices.Contains([]string{"serve", "check", "compact"}, last) {
			continue
		}
		if !strings.Contains(r.stdout, "gov.vn") && !strings.Contains(r.stdout, "vinhyen/") { // an address or a unit
			t.Errorf("%s --help has no Vietnamese example:\n%s", name, r.stdout)
		}
	}
	if r := runBinary(t, "", "help", "user", "add"); r.code != 0 || !strings.Contains(r.stdout, `--name "Nguyễn Văn An"`) {
		t.Errorf("mailserver help user add: exit %d\n%s", r.code, r.stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		args   []string
		reason string
	}{
		{[]string{"user", "add"}, "missing ADDRESS (see 'mailserver user add --help')"},
		{[]string{"domain", "add", "a.vn", "b.vn"}, `unexpected argument "b.vn" (see 'mailserver domain add --help')`},
		{[]string{"user", "list", "extra"}, `unexpected argument "extra" (see 'mailserver user list --help')`},
		{[]string{"user", "add", userAn, "--password", "x"}, "unknown flag: --password (see 'mailserver user add --help')"},
		{[]string{"user", "frobnicate"}, `unknown command "frobnicate" for "mailserver user" (see 'mailserver user --help')`},
		{[]string{"frobnicate"}, `unknown command "frobnicate" for "mailserver" (see 'mailserver --help')`},
	}
	for _, tt := range tests {
		e.fails(2, tt.reason, "", tt.args...)
	}
}

func TestConfigFlag(t *testing.T) {
	e := newEnv(t)
	// --config before the command always works; after it too.
	e.ok("", "domain", "add", domain)
	if r := runBinary(t, "", "domain", "list", "--config", e.config); r.code != 0 || r.stdout != "vinhyen.gov.vn\n" {
		t.Errorf("--config after the command: %+v", r)
	}
	missing := filepath.Join(filepath.Dir(e.config), "nope.toml")
	r := runBinary(t, "", "--config", missing, "domain", "list")
	checkFailure(t, r, 1, fmt.Sprintf("config %s: open %s: no such file or directory", missing, missing), nil)

	bad := filepath.Join(filepath.Dir(e.config), "bad.toml")
	if err := os.WriteFile(bad, []byte("data_dri = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runBinary(t, "", "--config", bad, "domain", "list")
	checkFailure(t, r, 1, fmt.Sprintf(`config %s: unknown key "data_dri"`, bad), nil)
}

// startControl serves e's store in this process through the control socket, as a running server does: the
// store's file lock is held, so the commands can only succeed through the socket.
func (e *env) startControl(t *testing.T) *store.Store {
	t.Helper()
	if err := os.MkdirAll(e.cfg.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(e.cfg.DBPath(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := ctl.Listen(e.cfg.SocketPath())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// Cheap hashing: checking the hashes in this race-instrumented process is slow enough with production costs.
	svc := admin.New(st, admin.WithHasher(auth.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}))
	go func() { done <- ctl.Serve(ctx, ln, svc, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ctl.Serve: %v", err)
		}
		st.Close()
	})
	return st
}

func TestThroughControlSocket(t *testing.T) {
	e := newEnv(t)
	st := e.startControl(t)

	e.ok("", "domain", "add", domain)
	e.ok("", "domain", "add", "phucyen.vinhphuc.gov.vn")
	e.ok("", "domain", "remove", "phucyen.vinhphuc.gov.vn")
	if out := e.ok("", "domain", "list"); out != "vinhyen.gov.vn\n" {
		t.Errorf("domain list: %q", out)
	}
	e.ok("", "unit", "add", "vinhyen/ubnd", "--name", "UBND thành phố Vĩnh Yên")
	e.ok(goodPassword+"\n", "user", "add", userAn, "--name", "Nguyễn Văn An", "--unit", "vinhyen/ubnd", "--quota", "1.5GB")
	a, err := st.Account(userAn)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "Nguyễn Văn An" || a.Quota != 3<<29 {
		t.Errorf("account added through the socket: %+v", a)
	}
	checkPassword(t, a, goodPassword, true)

	// Failures keep their one-line reasons across the socket.
	e.fails(1, "user an.nv@vinhyen.gov.vn already exists", goodPassword+"\n", "user", "add", userAn)
	e.fails(1, "domain x.vn does not exist: add it with 'mailserver domain add x.vn'", goodPassword+"\n", "user", "add", "an@x.vn")
	e.fails(1, "password must be at least 10 characters", "short\n", "user", "add", "binh@vinhyen.gov.vn")
	e.fails(1, "password must not be empty (it is read from the first line of standard input)", "", "user", "add", "binh@vinhyen.gov.vn")

	e.ok("Mat-khau-moi-2025\n", "user", "passwd", userAn)
	e.ok("", "user", "disable", userAn)
	if a, _ := st.Account(userAn); !a.Disabled {
		t.Error("disable through the socket did not disable")
	} else {
		checkPassword(t, a, "Mat-khau-moi-2025", true)
	}
	if out := e.ok("", "user", "list"); !strings.Contains(out, "1.5GB") || !strings.Contains(out, "disabled") {
		t.Errorf("user list through the socket:\n%s", out)
	}
	e.ok("", "user", "enable", userAn)
	e.ok("", "user", "remove", userAn)
	if accounts, _ := st.Accounts(); len(accounts) != 0 {
		t.Errorf("remove through the socket left %+v", accounts)
	}
}

func TestServerRunningWithoutSocket(t *testing.T) {
	e := newEnv(t)
	if err := os.MkdirAll(e.cfg.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(e.cfg.DBPath(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reason := fmt.Sprintf("the server seems to be running but its control socket at %s does not answer", e.cfg.SocketPath())
	e.fails(1, reason, "", "domain", "list")

	// A socket file nobody answers on changes nothing.
	ln, err := net.Listen("unix", e.cfg.SocketPath())
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	e.fails(1, reason, goodPassword+"\n", "user", "add", userAn)
}

func TestStaleSocketWithoutServer(t *testing.T) {
	e := newEnv(t)
	if err := os.MkdirAll(e.cfg.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", e.cfg.SocketPath())
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	e.ok("", "domain", "add", domain) // straight to the file
	if out := e.ok("", "domain", "list"); out != "vinhyen.gov.vn\n" {
		t.Errorf("domain list: %q", out)
	}
}
