package server

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailserver/internal/testnet"
	"mailserver/internal/tlsutil"
)

// startPostfixRelay runs a private Postfix instance (its own configuration, queue and log under a temporary folder)
// as the peer gateway in benchmarks: it accepts mail from loopback on listen with implicit TLS and relays everything
// for relayDomain to relayTo, requiring STARTTLS there, like a mailserver route with tls = "required". It needs
// Debian's postfix package and root, since Postfix's master runs as root and drops to the postfix user.
func startPostfixRelay(b *testing.B, hostname, listen, relayDomain, relayTo string) {
	postfix := requireTool(b, "postfix")
	if os.Geteuid() != 0 {
		b.Skip("a private Postfix instance needs root")
	}
	owner, err := user.Lookup("postfix")
	if err != nil {
		b.Fatalf("the postfix user is missing: %v", err)
	}
	// Postfix's daemons run as the postfix user and must reach the queue, so the folder is not b.TempDir (0700).
	dir, err := os.MkdirTemp("", "postfix-peer-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	conf, data := filepath.Join(dir, "conf"), filepath.Join(dir, "data")
	for _, d := range []string{conf, data, filepath.Join(dir, "queue")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	uid, _ := strconv.Atoi(owner.Uid)
	if err := os.Chown(data, uid, -1); err != nil {
		b.Fatal(err)
	}
	// Postfix reads its key as root before dropping privileges, so the 0600 self-signed pair serves.
	if _, err := tlsutil.LoadOrCreate("", "", dir, []string{hostname}); err != nil {
		b.Fatal(err)
	}

	mainCF := strings.Join([]string{
		"compatibility_level = 3.6",
		"queue_directory = " + filepath.Join(dir, "queue"),
		"data_directory = " + data,
		"mail_owner = postfix",
		"setgid_group = postdrop",
		"myhostname = " + hostname,
		"myorigin = $myhostname",
		"mydestination =",
		"inet_interfaces = 127.0.0.1",
		"inet_protocols = ipv4",
		"mynetworks = 127.0.0.0/8",
		"relay_domains = " + relayDomain,
		"relayhost = [" + strings.Replace(relayTo, ":", "]:", 1),
		"smtpd_relay_restrictions = permit_mynetworks, reject",
		// Without this every connection waits on a reverse lookup the sandbox cannot answer.
		"smtpd_peername_lookup = no",
		"smtp_tls_security_level = encrypt",
		"smtpd_tls_cert_file = " + filepath.Join(dir, "tls", "cert.pem"),
		"smtpd_tls_key_file = " + filepath.Join(dir, "tls", "key.pem"),
		"alias_maps =",
		"alias_database =",
		"biff = no",
		"maillog_file_prefixes = " + dir,
		"maillog_file = " + filepath.Join(dir, "maillog"),
		"",
	}, "\n")
	if err := os.WriteFile(filepath.Join(conf, "main.cf"), []byte(mainCF), 0o644); err != nil {
		b.Fatal(err)
	}
	master, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		b.Fatalf("Debian's postfix package provides /etc/postfix/master.cf: %v", err)
	}
	if err := os.WriteFile(filepath.Join(conf, "master.cf"), master, 0o644); err != nil {
		b.Fatal(err)
	}
	run := func(args ...string) {
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			logTail := ""
			if log, rerr := os.ReadFile(filepath.Join(dir, "maillog")); rerr == nil {
				logTail = string(log)
			}
			b.Fatalf("%s: %v\n%s\n%s", strings.Join(args, " "), err, out, logTail)
		}
	}
	postconf := filepath.Join(filepath.Dir(postfix), "postconf")
	// Debian chroots most daemons into the queue folder, which this instance does not populate.
	run(postconf, "-c", conf, "-F", "*/*/chroot = n")
	run(postconf, "-c", conf, "-M#", "smtp/inet")
	run(postconf, "-c", conf, "-Me", fmt.Sprintf("%s/inet = %s inet n - n - - smtpd -o smtpd_tls_wrappermode=yes", listen, listen))
	run(postfix, "-c", conf, "check")
	run(postfix, "-c", conf, "start")
	b.Cleanup(func() {
		exec.Command(postfix, "-c", conf, "abort").Run()
		if b.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
			b.Logf("Postfix's log:\n%s", log)
		}
	})
	testnet.WaitListening(b, listen, 10*time.Second)
}
