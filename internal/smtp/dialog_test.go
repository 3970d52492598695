package smtp

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDialogs runs every testdata/*.dialog script against a fresh server over a raw TCP connection, so that protocol
// edges a real client never produces (bare LF, smuggling attempts, pipelining, commands out of order) are exercised
// byte for byte. The format, one directive per line:
//
//	# comment                       (and blank lines)
//	SERVER: mx|submission|submissions [insecure-auth] [max-size=N] [no-delays]   first directive
//	                                (no-delays: replies to unknown recipients are not held back)
//	C: text                         send text and CRLF
//	R: text                         send text as is (raw), no CRLF added
//	S: prefix                       read one reply (all its lines); its first line must start with prefix
//	S+: text                        some line of the last reply contains text
//	S-: text                        no line of the last reply contains text
//	TLS                             start TLS on the connection (after the server's 220 to STARTTLS)
//	CLOSED                          the server has closed the connection
//	STORED: address N               the account's INBOX holds N messages
//
// In C: and R: text, \r \n \t \\ and \xHH are escapes, {{N*text}} repeats text N times, and {{b64:text}} is the
// base64 of text (escapes applied), for AUTH.
func TestDialogs(t *testing.T) {
	files, err := filepath.Glob("testdata/*.dialog")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dialogs: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".dialog"), func(t *testing.T) {
			t.Parallel()
			runDialog(t, f)
		})
	}
}

type dialog struct {
	t    *testing.T
	e    *testEnv
	conn net.Conn
	r    *bufio.Reader
	last []string // the last reply's lines
}

func runDialog(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := &dialog{t: t}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d: %s", filepath.Base(path), n+1, line)
		if d.conn == nil && !strings.HasPrefix(line, "SERVER: ") {
			t.Fatalf("%s: the first directive must be SERVER", where)
		}
		if err := d.step(line); err != nil {
			t.Fatalf("%s\n\t%v", where, err)
		}
	}
}

func (d *dialog) step(line string) error {
	directive, arg, _ := strings.Cut(line, " ")
	switch directive {
	case "SERVER:":
		return d.start(strings.Fields(arg))
	case "C:":
		return d.send(expand(arg) + "\r\n")
	case "R:":
		return d.send(expand(arg))
	case "S:":
		return d.expect(arg)
	case "S+:", "S-:":
		found := false
		for _, l := range d.last {
			found = found || strings.Contains(l, arg)
		}
		if found != (directive == "S+:") {
			return fmt.Errorf("last reply %q", d.last)
		}
		return nil
	case "TLS":
		conn := tls.Client(d.conn, d.e.clientTLS)
		if err := conn.Handshake(); err != nil {
			return err
		}
		d.conn, d.r = conn, bufio.NewReader(conn)
		return nil
	case "CLOSED":
		d.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if b, err := d.r.ReadByte(); err == nil || !isClosed(err) {
			return fmt.Errorf("connection still open: read %q, %v", b, err)
		}
		return nil
	case "STORED:":
		f := strings.Fields(arg)
		want, err := strconv.Atoi(f[len(f)-1])
		if err != nil || len(f) != 2 {
			return fmt.Errorf("STORED needs an address and a count")
		}
		if got := len(d.e.inbox(f[0])); got != want {
			return fmt.Errorf("%s has %d messages, want %d", f[0], got, want)
		}
		return nil
	}
	return fmt.Errorf("unknown directive %q", directive)
}

func isClosed(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.As(err, &ne) && !ne.Timeout() ||
		strings.Contains(err.Error(), "connection reset")
}

func (d *dialog) start(args []string) error {
	var opts []envOption
	for _, a := range args[1:] {
		switch {
		case a == "insecure-auth":
			opts = append(opts, func(o *Options) { o.AllowInsecureAuth = true })
		case a == "no-delays":
			opts = append(opts, func(o *Options) {
				o.Harvest = newHarvestGuard(HarvestLimits{}, time.Now, func(time.Duration, <-chan struct{}) {})
			})
		case strings.HasPrefix(a, "max-size="):
			n, err := strconv.ParseInt(strings.TrimPrefix(a, "max-size="), 10, 64)
			if err != nil {
				return err
			}
			opts = append(opts, func(o *Options) { o.MaxMessageBytes = n })
		default:
			return fmt.Errorf("unknown server option %q", a)
		}
	}
	d.e = newTestEnv(d.t, opts...)
	var err error
	switch args[0] {
	case "mx":
		d.conn, err = net.Dial("tcp", d.e.mx)
	case "submission":
		d.conn, err = net.Dial("tcp", d.e.sub)
	case "submissions":
		d.conn, err = tls.Dial("tcp", d.e.subs, d.e.clientTLS)
	default:
		return fmt.Errorf("unknown server %q", args[0])
	}
	if err != nil {
		return err
	}
	d.t.Cleanup(func() { d.conn.Close() })
	d.r = bufio.NewReader(d.conn)
	return nil
}

func (d *dialog) send(s string) error {
	d.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := io.WriteString(d.conn, s)
	return err
}

// expect reads one reply, all its lines ("250-..." continues, "250 ..." ends), and checks the first line.
func (d *dialog) expect(prefix string) error {
	d.last = nil
	for {
		d.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := d.r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("reading the reply: %v (so far %q)", err, d.last)
		}
		line = strings.TrimSuffix(line, "\r\n")
		d.last = append(d.last, line)
		if len(line) < 4 || line[3] != '-' {
			break
		}
	}
	if !strings.HasPrefix(d.last[0], prefix) {
		return fmt.Errorf("got %q", d.last)
	}
	return nil
}

var (
	repeatRe = regexp.MustCompile(`\{\{(\d+)\*(.*?)\}\}`)
	base64Re = regexp.MustCompile(`\{\{b64:(.*?)\}\}`)
	escapeRe = regexp.MustCompile(`\\(x[0-9A-Fa-f]{2}|.)`)
)

// expand applies the C:/R: expansions: {{b64:...}}, {{N*...}}, then escapes.
func expand(s string) string {
	s = base64Re.ReplaceAllStringFunc(s, func(m string) string {
		return base64.StdEncoding.EncodeToString([]byte(unescape(base64Re.FindStringSubmatch(m)[1])))
	})
	s = repeatRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := repeatRe.FindStringSubmatch(m)
		n, _ := strconv.Atoi(sub[1])
		return strings.Repeat(sub[2], n)
	})
	return unescape(s)
}

func unescape(s string) string {
	return escapeRe.ReplaceAllStringFunc(s, func(m string) string {
		switch c := m[1:]; c {
		case "r":
			return "\r"
		case "n":
			return "\n"
		case "t":
			return "\t"
		case "\\":
			return "\\"
		default:
			if len(c) == 3 {
				b, _ := strconv.ParseUint(c[1:], 16, 8)
				return string([]byte{byte(b)})
			}
			return m
		}
	})
}
