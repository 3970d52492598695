package imap

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailserver/internal/testlog"
	"mailserver/internal/version"
)

// logTo sends the server's log to logs, as JSON lines.
func logTo(logs *testlog.Buffer) serverOption {
	return func(c *testConfig) { c.opts.Logger = slog.New(slog.NewJSONHandler(logs, nil)) }
}

// ID works before and after login (RFC 2971): the server answers with its name and version only, and logs what
// the client sent with the connection's attributes.
func TestIDBeforeAndAfterLogin(t *testing.T) {
	logs := &testlog.Buffer{}
	ts := newTestServer(t, logTo(logs))
	c, err := imapclient.DialInsecure(ts.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if caps := capsOf(t, c); !caps.Has(imap.CapID) {
		t.Errorf("capabilities before login %v: no ID", caps)
	}
	want := imap.IDData{Name: "mailserver", Version: version.Read().Version}
	got, err := c.ID(&imap.IDData{Name: "Thunderbird", Version: "128.5.0", OS: "Linux", Vendor: "Mozilla"}).Wait()
	if err != nil || *got != want {
		t.Errorf("ID before login: %+v %v, want %+v", got, err, want)
	}
	if err := c.Login(testUser, testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	if caps := capsOf(t, c); !caps.Has(imap.CapID) {
		t.Errorf("capabilities after login %v: no ID", caps)
	}
	if got, err := c.ID(nil).Wait(); err != nil || *got != want {
		t.Errorf("ID NIL after login: %+v %v, want %+v", got, err, want)
	}

	lines := logs.Find(t, "imap client id")
	if len(lines) != 2 {
		t.Fatalf("%d lines logged for 2 IDs: %s", len(lines), logs)
	}
	first := lines[0]
	if first.Str("id_name") != "Thunderbird" || first.Str("id_version") != "128.5.0" || first.Str("id_os") != "Linux" ||
		first.Str("id_vendor") != "Mozilla" || first.Str("conn") == "" || first.Str("remote") == "" {
		t.Errorf("logged ID: %s", first.Raw)
	}
	if second := lines[1]; second.Str("id") != "NIL" || second.Str("account") != testUser {
		t.Errorf("logged ID NIL: %s", second.Raw)
	}
}

// ID through the raw protocol: NIL, an empty list, unknown fields, values over 1,024 bytes (cut in the log), and
// malformed lists (BAD, the session going on).
func TestDialogID(t *testing.T) {
	logs := &testlog.Buffer{}
	ts := newTestServer(t, logTo(logs))
	rc := dialRaw(t, ts.addr)
	wantReply := `* ID ("name" "mailserver" "version" "` + version.Read().Version + `")`
	for _, args := range []string{"NIL", "nil", "()", `("x-unknown" "1" "NAME" NIL)`, `("name" {3+}` + "\r\nK-9)"} {
		if lines := rc.ok("ID %s", args); len(lines) != 1 || lines[0] != wantReply {
			t.Errorf("ID %s: %q, want %q", args, lines, wantReply)
		}
	}
	long := strings.Repeat("v", 2000)
	rc.ok(`ID ("name" "%s" "os" "Android")`, long)
	for _, args := range []string{"", `"name"`, `("name")`, `("name" "a" "version")`, `(name "a")`, `("name" "a"`,
		`("a" "1" "b" "2" "c" "3" "d" "4" "e" "5" "f" "6" "g" "7" "h" "8" "i" "9" "j" "10" "k" "11" "l" "12" ` +
			`"m" "13" "n" "14" "o" "15" "p" "16" "q" "17" "r" "18" "s" "19" "t" "20" "u" "21" "v" "22" "w" "23" ` +
			`"x" "24" "y" "25" "z" "26" "aa" "27" "ab" "28" "ac" "29" "ad" "30" "ae" "31")`} {
		if _, status := rc.cmd("ID %s", args); !strings.HasPrefix(status, "BAD ") {
			t.Errorf("ID %s: %s, want BAD", args, status)
		}
	}
	rc.ok("NOOP")

	var found bool
	for _, l := range logs.Find(t, "imap client id") {
		if l.Str("id_os") == "Android" {
			found = true
			if l.Str("id_name") != long[:1024] {
				t.Errorf("a 2,000-byte name was logged as %d bytes", len(l.Str("id_name")))
			}
		}
	}
	if !found {
		t.Errorf("the ID with a long name was not logged: %s", logs)
	}
}
