package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailserver/internal/testnet"
)

// imaptest is Dovecot's IMAP compliance and stress tester, prebuilt with its scripts (see its README): the outside
// referee of the IMAP server.
type imaptest struct {
	binary string // the imaptest program
	tests  string // its folder of compliance scripts
	mbox   string // the messages the stress runs append
}

// findImaptest locates imaptest: $IMAPTEST, else ../shared/imaptest/imaptest beside the repository, with the tests
// folder and stress-small.mbox next to it. Missing, it fails the test under CI=true and skips it otherwise.
func findImaptest(t *testing.T) imaptest {
	t.Helper()
	bin := os.Getenv("IMAPTEST")
	if bin == "" {
		root, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			t.Fatal(err)
		}
		bin = filepath.Join(root, "..", "shared", "imaptest", "imaptest")
	}
	it := imaptest{binary: bin, tests: filepath.Join(filepath.Dir(bin), "tests"),
		mbox: filepath.Join(filepath.Dir(bin), "stress-small.mbox")}
	for _, path := range []string{it.binary, it.tests, it.mbox} {
		if _, err := os.Stat(path); err != nil {
			msg := fmt.Sprintf("imaptest not found (set $IMAPTEST, or put it at %s): %v", bin, err)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	return it
}

// Accounts imaptest logs in as: the compliance scripts delete and recreate every mailbox named imaptest* in user
// and user2; the stress runs use their own account.
const (
	imaptestUser   = "imaptest@vinhyen.gov.vn"
	imaptestUser2  = "imaptest2@vinhyen.gov.vn"
	imaptestStress = "stress@vinhyen.gov.vn"
	stressCopybox  = "stressdest"
)

// maxSkippedGroups is what Dovecot itself skips (sort-partial, urlauth, urlauth2, urlauth-binary): extensions this
// server does not offer either.
const maxSkippedGroups = 4

// TestImaptest runs imaptest against the real server over IMAPS: every compliance script (one result per script),
// then two bounded stress runs (5 clients for 10 seconds each: the default command mix, and a wider one with COPY,
// MOVE, SEARCH, SORT and UID FETCH). It fails on any failed script group, on more than maxSkippedGroups skipped
// ones, and on any "Error:" line of a stress run other than imaptest's known SEARCH noise (stressNoise).
func TestImaptest(t *testing.T) {
	if testing.Short() {
		t.Skip("imaptest takes about a minute")
	}
	it := findImaptest(t)
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	for _, user := range []string{imaptestUser, imaptestUser2, imaptestStress} {
		e.ok(goodPassword+"\n", "user", "add", user)
	}
	imaps := testnet.FreeAddr(t)
	serveOn(t, e, testnet.FreeAddr(t), imaps)
	createMailbox(t, imaps, imaptestStress, stressCopybox)

	host, port, err := net.SplitHostPort(imaps)
	if err != nil {
		t.Fatal(err)
	}
	server := []string{"host=" + host, "port=" + port, "ssl=any-cert", "pass=" + goodPassword}
	t.Run("compliance", func(t *testing.T) {
		out := it.run(t, 5*time.Minute, []string{"IMAPTEST_PER_TEST=1"}, append(server,
			"user="+imaptestUser, "user2="+imaptestUser2, "test="+it.tests)...)
		checkCompliance(t, out)
	})
	stress := append(server, "user="+imaptestStress, "mbox="+it.mbox, "secs=10", "clients=5", "seed=1", "logout=0")
	t.Run("stress", func(t *testing.T) {
		checkStress(t, it.run(t, time.Minute, nil, stress...))
	})
	t.Run("stress wider mix", func(t *testing.T) {
		checkStress(t, it.run(t, time.Minute, nil, append(stress, "copybox="+stressCopybox,
			"search=30", "sort=10", "uidfetch=50", "noop=10", "check=10", "move=10")...))
	})
}

// run runs imaptest with args and extra environment, at most for within, in a folder of its own (imaptest may
// write files into its working folder), and returns its output. Its exit status is not the verdict: it is 2 when
// a script failed and 0 after a stress run with errors.
func (it imaptest) run(t *testing.T, within time.Duration, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, it.binary, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if ctx.Err() != nil || err != nil && !errors.As(err, &exit) {
		t.Fatalf("imaptest %s: %v, %v\n%s", strings.Join(args, " "), err, ctx.Err(), out)
	}
	return string(out)
}

// createMailbox creates a mailbox in an account over IMAPS.
func createMailbox(t *testing.T, imaps, user, name string) {
	t.Helper()
	c := loginIMAPSAs(t, imaps, user)
	defer c.Close()
	if err := c.Create(name, nil).Wait(); err != nil {
		t.Fatal(err)
	}
}

var (
	groupResult  = regexp.MustCompile(`^imaptest-result: (ok|FAIL|SKIP) (\S+)$`)
	groupSummary = regexp.MustCompile(`^(\d+) test groups: (\d+) failed, (\d+) skipped`)
)

// checkCompliance reads the per-script results and the summary of a compliance run, and reports each failed
// group with imaptest's explanation of it.
func checkCompliance(t *testing.T, out string) {
	t.Helper()
	var failed, skipped []string
	var detail strings.Builder
	summary := false
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := groupResult.FindStringSubmatch(line); m != nil {
			switch m[1] {
			case "FAIL":
				failed = append(failed, m[2])
				t.Errorf("imaptest group %s failed:\n%s", m[2], detail.String())
			case "SKIP":
				skipped = append(skipped, m[2])
			}
			detail.Reset()
			continue
		}
		if m := groupSummary.FindStringSubmatch(line); m != nil {
			summary = true
			if n, _ := strconv.Atoi(m[2]); n != len(failed) {
				t.Errorf("imaptest counts %s failed groups, its per-script lines %d", m[2], len(failed))
			}
			continue
		}
		detail.WriteString(line + "\n")
	}
	if !summary {
		t.Fatalf("no summary in imaptest's output:\n%s", out)
	}
	if len(skipped) > maxSkippedGroups {
		t.Errorf("%d groups skipped for missing capabilities, at most %d expected: %s", len(skipped), maxSkippedGroups,
			strings.Join(skipped, " "))
	}
	t.Logf("imaptest compliance: %d failed (%s), %d skipped (%s)", len(failed), strings.Join(failed, " "),
		len(skipped), strings.Join(skipped, " "))
}

// stressNoise is the one kind of stress "Error:" line that is not a fault of the server: a SEARCH result that
// differs from imaptest's own model of the mailbox. The README of imaptest lists it as noise also seen against
// Dovecot: the model searches the raw text (a quoted-printable "=E1", a lone combining mark) where the server
// searches decoded and diacritic-folded text, and it counts messages another session expunged whose EXPUNGE the
// client has not been sent yet, which RFC 2180 4.1.3 lets a SEARCH leave out. The line names no command, so the
// whole form is matched, nothing looser.
var stressNoise = regexp.MustCompile(`^Error: \S+: SEARCH result (missing|has extra) seq \d+ \(uid \d+\): \S+ OK SEARCH completed$`)

// checkStress fails on each "Error:" line of a stress run but the known noise.
func checkStress(t *testing.T, out string) {
	t.Helper()
	var errs []string
	noise := 0
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case !strings.HasPrefix(line, "Error:"):
		case stressNoise.MatchString(line):
			noise++
		default:
			errs = append(errs, line)
		}
	}
	if len(errs) > 0 {
		t.Errorf("%d imaptest stress errors (first 40 below):\n%s", len(errs), strings.Join(errs[:min(len(errs), 40)], "\n"))
	}
	t.Logf("imaptest stress: %d errors, %d known SEARCH-model lines", len(errs), noise)
}
