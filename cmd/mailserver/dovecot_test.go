package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mailserver/internal/testnet"
	"mailserver/internal/tlsutil"
)

// dovecot is a private Dovecot IMAP server started by a test: the old mail server of a migration.
type dovecot struct {
	addr   string // IMAPS, 127.0.0.1:port
	caFile string // its self-signed certificate, which is its own CA
	roots  *x509.CertPool
	dir    string
	// uid and gid own the users' mail files.
	uid, gid int
}

// Logins of the test Dovecot.
const (
	dovecotUser        = "an.old"
	dovecotPassword    = "old-secret-1"
	dovecotAdmin       = "migrator"
	dovecotAdminSecret = "master-secret-1"
)

// dovecotConfig is a Dovecot 2.3 configuration for one test: its own folders, an IMAPS listener on loopback,
// users from a passwd-file, a master user for migrations, Maildir++ ('.' as the hierarchy delimiter), and
// special-use folders with names other than ours.
const dovecotConfig = `base_dir = {{dir}}/run
state_dir = {{dir}}/state
log_path = {{dir}}/dovecot.log
instance_name = mstest-{{port}}
protocols = imap
listen = 127.0.0.1
default_internal_user = {{internal}}
default_internal_group = {{group}}
default_login_user = {{login}}
first_valid_uid = 0
ssl = required
ssl_cert = <{{dir}}/tls/cert.pem
ssl_key = <{{dir}}/tls/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = {{port}}
  }
  chroot =
}
service anvil {
  chroot =
}
passdb {
  driver = passwd-file
  args = {{dir}}/masters
  master = yes
}
passdb {
  driver = passwd-file
  args = {{dir}}/passwd
}
userdb {
  driver = static
  args = uid={{uid}} gid={{gid}} home={{dir}}/mail/%u
}
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = .
  mailbox "Thư đã gửi" {
    special_use = \Sent
  }
  mailbox "Deleted Items" {
    special_use = \Trash
  }
}
`

// startDovecot starts Dovecot from the Debian package (dovecot-imapd) in a folder of its own and stops it at the
// end of the test. Without Dovecot the test is skipped, and fails under CI=true (.ci/run installs it).
func startDovecot(t testing.TB) *dovecot {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		bin = "/usr/sbin/dovecot"
		if _, err := os.Stat(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("dovecot is needed as the old server of a migration; .ci/run installs dovecot-imapd")
			}
			t.Skip("dovecot is needed as the old server of a migration (apt install dovecot-imapd; with CI=true this fails)")
		}
	}
	dir, err := os.MkdirTemp("", "dv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if _, err := tlsutil.LoadOrCreate("", "", dir, nil); err != nil {
		t.Fatal(err)
	}
	addr := testnet.FreeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	internal, group, login, uid, gid := dovecotUsers(t, dir)
	conf := strings.NewReplacer("{{dir}}", dir, "{{port}}", port, "{{internal}}", internal, "{{group}}", group,
		"{{login}}", login, "{{uid}}", uid, "{{gid}}", gid).Replace(dovecotConfig)
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("dovecot.conf", conf)
	write("passwd", dovecotUser+":{PLAIN}"+dovecotPassword+"::::::\n")
	write("masters", dovecotAdmin+":{PLAIN}"+dovecotAdminSecret+"::::::\n")
	if err := os.MkdirAll(filepath.Join(dir, "mail"), 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, "mail"), 0o777)
	os.Chmod(dir, 0o755)
	cmd := exec.Command(bin, "-F", "-c", filepath.Join(dir, "dovecot.conf"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Logf("dovecot output:\n%s\nlog:\n%s", out.String(), log)
		}
	})
	testnet.WaitListening(t, addr, 20*time.Second)
	pem, err := os.ReadFile(filepath.Join(dir, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	numUID, _ := strconv.Atoi(uid)
	numGID, _ := strconv.Atoi(gid)
	return &dovecot{addr: addr, caFile: filepath.Join(dir, "tls", "cert.pem"), roots: roots, dir: dir, uid: numUID, gid: numGID}
}

// writeMaildir puts messages straight into a folder of the test user's Maildir ("" for INBOX), as seen messages,
// which is much faster than APPEND for a benchmark's thousands; Dovecot finds them at the next SELECT.
func (d *dovecot) writeMaildir(tb testing.TB, folder string, n int, message func(i int) []byte) {
	tb.Helper()
	root := filepath.Join(d.dir, "mail", dovecotUser, "Maildir")
	box := root
	if folder != "" {
		box = filepath.Join(root, "."+folder)
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(box, sub), 0o700); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range n {
		name := filepath.Join(box, "cur", fmt.Sprintf("%d.M%dP1.bench:2,S", 1700000000+i, i))
		if err := os.WriteFile(name, message(i), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	err := filepath.WalkDir(filepath.Join(d.dir, "mail"), func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, d.uid, d.gid)
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// dovecotUsers names the users Dovecot's processes and mail run as: the package's own when the test runs as
// root, the test's user otherwise.
func dovecotUsers(t testing.TB, dir string) (internal, group, login, uid, gid string) {
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if me.Uid != "0" {
		g, err := user.LookupGroupId(me.Gid)
		if err != nil {
			t.Fatal(err)
		}
		return me.Username, g.Name, me.Username, me.Uid, me.Gid
	}
	dv, err := user.Lookup("dovecot")
	if err != nil {
		t.Fatalf("the dovecot package's user: %v", err)
	}
	return "dovecot", "dovecot", "dovenull", dv.Uid, dv.Gid
}

// login logs in to the test Dovecot as its user; the caller closes the client.
func (d *dovecot) login(t *testing.T) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(d.addr, &imapclient.Options{TLSConfig: &tls.Config{RootCAs: d.roots}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(dovecotUser, dovecotPassword).Wait(); err != nil {
		c.Close()
		t.Fatal(fmt.Errorf("log in to dovecot: %w", err))
	}
	return c
}
