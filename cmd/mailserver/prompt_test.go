package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// ptyScript runs argv[1:] on a pseudo-terminal, answers each "New password" and "Repeat" prompt with the next of
// the answers given in the environment, and prints everything the terminal showed, then "EXIT=<code>".
const ptyScript = `
import os, pty, select, sys, time
answers = os.environ["ANSWERS"].split("|")
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
def read_some():
    global out
    r, _, _ = select.select([fd], [], [], 20)
    if not r:
        sys.exit("timeout; terminal showed %r" % out)
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        return False
    out += chunk
    return bool(chunk)
for prompt, answer in zip([b"New password for", b"Repeat the password"], answers):
    while prompt not in out:
        if not read_some():
            break
    time.sleep(0.3)  # let the program turn echo off after its prompt
    os.write(fd, answer.encode() + b"\n")
while read_some():
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace") + "\nEXIT=%d\n" % os.waitstatus_to_exitcode(status))
`

// runOnTerminal runs mailserver args on a pseudo-terminal, typing answers at the password prompts.
func runOnTerminal(t *testing.T, answers []string, args ...string) string {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is needed to drive a pseudo-terminal; .ci/run installs it")
		}
		t.Skip("python3 is needed to drive a pseudo-terminal (with CI=true this fails)")
	}
	cmd := exec.Command(python, append([]string{"-c", ptyScript, binary}, args...)...)
	cmd.Env = append(cmd.Environ(), "ANSWERS="+strings.Join(answers, "|"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pty driver: %v\n%s", err, out)
	}
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}

func TestPasswordPromptOnTerminal(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)

	const newPassword = "Mật-khẩu-mới-2025"
	out := runOnTerminal(t, []string{newPassword, newPassword}, "--config", e.config, "user", "passwd", userAn)
	if !strings.Contains(out, "New password for an.nv@vinhyen.gov.vn: \nRepeat the password: \n") ||
		!strings.Contains(out, "changed the password of an.nv@vinhyen.gov.vn\n") || !strings.HasSuffix(out, "EXIT=0\n") {
		t.Errorf("matching passwords on a terminal:\n%s", out)
	}
	if strings.Contains(out, newPassword) {
		t.Errorf("the password was echoed:\n%s", out)
	}
	changed := e.account(userAn)
	checkPassword(t, changed, newPassword, true)

	out = runOnTerminal(t, []string{"Mat-khau-A-2025", "Mat-khau-B-2025"}, "--config", e.config, "user", "passwd", userAn)
	if !strings.Contains(out, "mailserver: the two passwords do not match: nothing was changed\n") || !strings.HasSuffix(out, "EXIT=1\n") {
		t.Errorf("different passwords on a terminal:\n%s", out)
	}
	if e.account(userAn).PasswordHash != changed.PasswordHash {
		t.Error("different passwords changed the password")
	}

	out = runOnTerminal(t, []string{""}, "--config", e.config, "user", "add", "binh@vinhyen.gov.vn")
	if !strings.Contains(out, "mailserver: password must not be empty\n") || !strings.HasSuffix(out, "EXIT=1\n") {
		t.Errorf("empty password on a terminal:\n%s", out)
	}
}
