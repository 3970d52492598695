package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailserver/internal/config"
)

// distFile is the path of a file in dist/, from this package's folder.
func distFile(name string) string { return filepath.Join("..", "..", "dist", name) }

// systemdTool finds one of systemd's tools. Without it the test skips, except under CI=true, where a missing tool
// fails it: .ci/run installs Debian's systemd package when it is missing.
func systemdTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing (Debian's systemd package): %v", name, err)
	}
	t.Skipf("%s is missing (Debian's systemd package)", name)
	return ""
}

// unitSettings reads a unit file's Key=Value lines; a key set more than once keeps every value.
func unitSettings(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	settings := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if key, value, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			settings[key] = append(settings[key], value)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return settings
}

// The unit passes systemd-analyze verify without a single warning. ExecStart names /usr/local/bin/mailserver, where
// the README installs it; verify needs an executable there, so the copy checked runs the binary these tests built.
func TestServiceUnitVerifies(t *testing.T) {
	analyze := systemdTool(t, "systemd-analyze")
	unit, err := os.ReadFile(distFile("mailserver.service"))
	if err != nil {
		t.Fatal(err)
	}
	const execStart = "ExecStart=/usr/local/bin/mailserver --config /etc/mailserver/mailserver.toml serve\n"
	if !strings.Contains(string(unit), execStart) {
		t.Fatalf("the unit does not run %q", execStart)
	}
	checked := filepath.Join(t.TempDir(), "mailserver.service")
	if err := os.WriteFile(checked, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/mailserver", binary)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", checked).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// The unit, the example config and the graceful stop agree: systemd waits longer than the server's own bound, and
// the folder the sandbox lets the server write is its data folder.
func TestServiceUnitAgreesWithConfig(t *testing.T) {
	unit := unitSettings(t, distFile("mailserver.service"))
	cfg, err := config.Load(distFile("mailserver.toml"))
	if err != nil {
		t.Fatalf("dist/mailserver.toml: %v", err)
	}
	stop, err := time.ParseDuration(strings.Join(unit["TimeoutStopSec"], ""))
	if err != nil {
		t.Fatalf("TimeoutStopSec: %v", err)
	}
	for _, bound := range []config.Duration{cfg.ShutdownTimeout, config.Default().ShutdownTimeout} {
		if stop <= time.Duration(bound) {
			t.Errorf("TimeoutStopSec=%v is not above shutdown_timeout %v: systemd would kill the server in its stop", stop, bound)
		}
	}
	if cfg.DataDir != "/var/lib/mailserver" || strings.Join(unit["ReadWritePaths"], " ") != cfg.DataDir ||
		strings.Join(unit["StateDirectory"], " ") != "mailserver" {
		t.Errorf("data_dir %s, ReadWritePaths %q, StateDirectory %q: want /var/lib/mailserver for all three",
			cfg.DataDir, unit["ReadWritePaths"], unit["StateDirectory"])
	}
	if unit["User"][0] != "mailserver" || unit["Group"][0] != "mailserver" || unit["StateDirectoryMode"][0] != "0710" {
		t.Errorf("User %q, Group %q, StateDirectoryMode %q: want mailserver, mailserver, 0710 (the group reaches the control socket)",
			unit["User"], unit["Group"], unit["StateDirectoryMode"])
	}
}

// The sysusers and tmpfiles entries, applied to a scratch root as the README's install steps apply them to /, make
// the user and group mailserver and the data folder, theirs, mode 0710.
func TestSysusersAndTmpfiles(t *testing.T) {
	sysusers, tmpfiles := systemdTool(t, "systemd-sysusers"), systemdTool(t, "systemd-tmpfiles")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("making files owned by another user needs root, which .ci/run has (it installs packages)")
		}
		t.Skip("making files owned by another user needs root")
	}
	root := t.TempDir()
	install := func(from, to string) {
		data, err := os.ReadFile(distFile(from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, to)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, to), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	install("mailserver.sysusers", "etc/sysusers.d/mailserver.conf")
	install("mailserver.tmpfiles", "etc/tmpfiles.d/mailserver.conf")
	for _, cmd := range [][]string{{sysusers, "--root", root}, {tmpfiles, "--create", "--root", root}} {
		out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput()
		if err != nil || strings.Contains(string(out), "mailserver.conf:") { // a warning names the line
			t.Fatalf("%s: %v\n%s", strings.Join(cmd, " "), err, out)
		}
	}
	passwd, err := os.ReadFile(filepath.Join(root, "etc", "passwd"))
	if err != nil {
		t.Fatal(err)
	}
	var uid string
	for line := range strings.Lines(string(passwd)) {
		if f := strings.Split(strings.TrimSpace(line), ":"); len(f) == 7 && f[0] == "mailserver" {
			if f[5] != "/var/lib/mailserver" || f[6] != "/usr/sbin/nologin" {
				t.Errorf("user mailserver: %q", line)
			}
			uid = f[2]
		}
	}
	if uid == "" {
		t.Fatalf("no user mailserver in\n%s", passwd)
	}
	fi, err := os.Stat(filepath.Join(root, "var", "lib", "mailserver"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o710 || !fi.IsDir() || fileOwner(fi) != uid {
		t.Errorf("/var/lib/mailserver: %v owned by %s, want a folder with mode 0710 owned by mailserver (%s)", fi.Mode(), fileOwner(fi), uid)
	}
}

// fileOwner is the numeric user id owning a file.
func fileOwner(fi os.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return strconv.FormatUint(uint64(st.Uid), 10)
	}
	return "?"
}
