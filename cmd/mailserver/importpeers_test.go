package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Dovecot as the peer of the import benchmark: 'doveadm import' of the same files into a private Dovecot's
// Maildir store, with Dovecot's default fsync (mail_fsync = optimized). doveadm looks users up through the
// running Dovecot's auth service, so a Dovecot without protocols runs beside it.

const doveadmConfig = `base_dir = {{dir}}/run
state_dir = {{dir}}/state
log_path = {{dir}}/dovecot.log
instance_name = msib-{{pid}}
protocols = none
ssl = no
first_valid_uid = 0
default_internal_user = dovecot
default_login_user = dovenull
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid={{uid}} gid={{gid}} home={{dir}}/mail/%u
}
mail_location = maildir:~/Maildir
`

// lookDoveadm finds doveadm, or skips the peer (fails under CI=true, where .ci/run installs it).
func lookDoveadm(b *testing.B) string {
	missing := func(why string) {
		if os.Getenv("CI") == "true" {
			b.Fatal(why)
		}
		b.Skip(why + " (with CI=true this fails)")
	}
	path, err := exec.LookPath("doveadm")
	if err != nil {
		missing("doveadm (apt install dovecot-core) is not installed")
	}
	if _, err := user.Lookup("dovecot"); err != nil {
		missing("the dovecot package's user is missing")
	}
	return path
}

// runDoveadmImports starts a private Dovecot and imports each source into an account of its own with
// 'doveadm import', one at a time.
func runDoveadmImports(b *testing.B, doveadm, kind string, sources []string, total int) importFigures {
	dir, err := os.MkdirTemp("/tmp", "msib-dv")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	conf := writeDoveadmConfig(b, dir)
	// doveadm reads the sources as the dovecot user.
	openToAll(b, filepath.Dir(sources[0])) // the corpus's folder holds them all
	stop := startPrivateDovecot(b, dir, conf)
	defer stop()
	accounts := importAccounts(len(sources))
	start := time.Now()
	rss := runEach(b, len(sources), 1, func(i int) *exec.Cmd {
		return exec.Command(doveadm, "-c", conf, "import", "-u", accounts[i], doveadmLocation(kind, sources[i], dir, i), "", "all")
	})
	elapsed := time.Since(start)
	stored := 0
	for _, a := range accounts {
		out, err := exec.Command(doveadm, "-c", conf, "mailbox", "status", "-u", a, "messages", "INBOX").CombinedOutput()
		n, convErr := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(string(out)), "INBOX messages="))
		if err != nil || convErr != nil {
			b.Fatalf("doveadm mailbox status -u %s: %v %s", a, err, out)
		}
		stored += n
	}
	if stored != total {
		b.Fatalf("dovecot stored %d messages, want %d; its log:\n%s", stored, total, fileTail(filepath.Join(dir, "dovecot.log")))
	}
	return importFigures{elapsed: elapsed, commandRSS: rss}
}

// doveadmLocation is a source in Dovecot's terms, read without writing index files beside it.
func doveadmLocation(kind, path, dir string, i int) string {
	if kind == "maildir" {
		return fmt.Sprintf("maildir:%s:INDEX=MEMORY:CONTROL=%s/mail/control-%d", path, dir, i)
	}
	return fmt.Sprintf("mbox:%s/mail/mbox-root-%d:INBOX=%s:INDEX=MEMORY", dir, i, path)
}

func writeDoveadmConfig(b *testing.B, dir string) string {
	dv, err := user.Lookup("dovecot")
	if err != nil {
		b.Fatal(err)
	}
	conf := strings.NewReplacer("{{dir}}", dir, "{{pid}}", strconv.Itoa(os.Getpid()), "{{uid}}", dv.Uid,
		"{{gid}}", dv.Gid).Replace(doveadmConfig)
	path := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "mail"), 0o777); err != nil {
		b.Fatal(err)
	}
	openToAll(b, filepath.Join(dir, "mail"))
	openToAll(b, dir)
	return path
}

// openToAll lets another user (Dovecot's) into dir and read and write what it holds.
func openToAll(b *testing.B, dir string) {
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(path, 0o777)
		}
		return os.Chmod(path, 0o644)
	})
	if err != nil {
		b.Fatal(err)
	}
}

// startPrivateDovecot runs Dovecot in the foreground on conf until stop, and waits for its auth service.
func startPrivateDovecot(b *testing.B, dir, conf string) (stop func()) {
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		bin = "/usr/sbin/dovecot"
	}
	cmd := exec.Command(bin, "-F", "-c", conf)
	if err := cmd.Start(); err != nil {
		b.Fatalf("dovecot: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "run", "auth-userdb")); err == nil {
			return stop
		}
		if time.Now().After(deadline) {
			stop()
			b.Fatalf("dovecot's auth service did not start within 20s; its log:\n%s", fileTail(filepath.Join(dir, "dovecot.log")))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func fileTail(path string) string {
	data, _ := os.ReadFile(path)
	return string(data[max(0, len(data)-4000):])
}
