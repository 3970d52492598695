package managesieve

import (
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"mailserver/internal/store"
)

// A whole session through every script command, as a filter editor runs it.
func TestSessionEveryCommand(t *testing.T) {
	ts := startServer(t)
	c := login(t, ts)

	script := "require \"fileinto\";\r\nif header :contains \"subject\" \"Báo cáo\" { fileinto \"Báo cáo\"; }\r\n"
	c.expect("OK", "", "HAVESPACE \"lọc thư\" %d", len(script))
	c.expect("OK", "", "PUTSCRIPT \"lọc thư\" {%d+}\r\n%s", len(script), script)
	c.expect("OK", "", `PUTSCRIPT "nháp" "keep;"`)
	if got, _ := ts.scripts.get("lọc thư"); got != script {
		t.Fatalf("stored %q, want %q", got, script)
	}
	c.expect("OK", "", `SETACTIVE "lọc thư"`)
	r := c.expect("OK", "", "LISTSCRIPTS")
	if !r.hasLine(`"lọc thư" ACTIVE`) || !r.hasLine(`"nháp"`) || len(r.lines) != 2 {
		t.Fatalf("LISTSCRIPTS: %v", r)
	}
	r = c.expect("OK", "", `GETSCRIPT "lọc thư"`)
	if len(r.lines) != 1 || r.lines[0] != `"`+script+`"` {
		t.Fatalf("GETSCRIPT: %q", r.lines)
	}
	c.expect("OK", "", `CHECKSCRIPT "keep;"`)
	c.expect("NO", "ACTIVE", `DELETESCRIPT "lọc thư"`)
	c.expect("OK", "", `RENAMESCRIPT "nháp" "cũ"`)
	c.expect("OK", "", `DELETESCRIPT "cũ"`)
	c.expect("OK", "", `SETACTIVE ""`)
	if r := c.expect("OK", "", "LISTSCRIPTS"); len(r.lines) != 1 || r.lines[0] != `"lọc thư"` {
		t.Fatalf("LISTSCRIPTS after deactivation: %v", r)
	}
	if r := c.expect("OK", "TAG \"a\\\"b\"", `NOOP "a\"b"`); r.text != "Done" {
		t.Fatalf("NOOP: %v", r)
	}
	if r := c.expect("OK", "", "CAPABILITY"); !r.hasLine(`"OWNER" "` + testUser + `"`) {
		t.Fatalf("CAPABILITY after login lacks OWNER: %v", r)
	}
	c.expect("OK", "", "UNAUTHENTICATE")
	c.expect("NO", "", "LISTSCRIPTS")
	c.expect("OK", "", `AUTHENTICATE "PLAIN" "%s"`, plain("", testUser, testPassword))
	c.expect("OK", "", "LOGOUT")
	if !c.closed() {
		t.Fatal("the connection stayed open after LOGOUT")
	}
}

func TestCapabilities(t *testing.T) {
	ts := startServer(t)
	c := dial(t, ts)
	want := []string{`"IMPLEMENTATION" "mailserver"`, `"SIEVE" "fileinto vacation imap4flags"`, `"STARTTLS"`,
		`"MAXREDIRECTS" "4"`, `"VERSION" "1.0"`, `"SASL" ""`, `"UNAUTHENTICATE"`}
	for _, line := range want {
		if !c.caps.hasLine(line) {
			t.Errorf("greeting lacks %s: %v", line, c.caps)
		}
	}
	if r := c.expect("OK", "", "CAPABILITY"); strings.Join(r.lines, "\n") != strings.Join(c.caps.lines, "\n") {
		t.Errorf("CAPABILITY %q differs from the greeting %q", r.lines, c.caps.lines)
	}
	c.startTLS(ts)
	if !c.caps.hasLine(`"SASL" "PLAIN LOGIN"`) || c.caps.hasLine(`"STARTTLS"`) {
		t.Errorf("capabilities after STARTTLS: %v", c.caps)
	}
	for _, line := range c.caps.lines {
		if strings.Contains(line, "NOTIFY") {
			t.Errorf("NOTIFY offered: %s", line)
		}
	}
	c.expect("NO", "", "STARTTLS")
}

func TestAuthenticateNeedsTLS(t *testing.T) {
	tests := []struct {
		name     string
		insecure bool
		loopback bool
		wantOK   bool
	}{
		{"remote peer, insecure auth allowed", true, false, false},
		{"loopback, insecure auth not allowed", false, true, false},
		{"loopback, insecure auth allowed", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, func(o *Options) { o.AllowInsecureAuth = tt.insecure })
			ts.trusted = func(net.Addr) bool { return tt.loopback }
			ts.serve(t)
			c := dial(t, ts)
			if got := c.caps.hasLine(`"SASL" "PLAIN LOGIN"`); got != tt.wantOK {
				t.Errorf("SASL mechanisms offered before TLS: %v, want %v", got, tt.wantOK)
			}
			r := c.do(`AUTHENTICATE "PLAIN" "%s"`, plain("", testUser, testPassword))
			if tt.wantOK {
				if r.kind != "OK" {
					t.Fatalf("got %v", r)
				}
				return
			}
			if r.kind != "NO" || r.code != "ENCRYPT-NEEDED" {
				t.Fatalf("got %v, want NO (ENCRYPT-NEEDED)", r)
			}
			c.startTLS(ts)
			c.expect("OK", "", `AUTHENTICATE "PLAIN" "%s"`, plain("", testUser, testPassword))
		})
	}
}

// AUTHENTICATE with continuations: PLAIN without an initial response, LOGIN as Thunderbird sends it, a cancel.
func TestAuthenticateContinuations(t *testing.T) {
	ts := startServer(t)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	t.Run("PLAIN", func(t *testing.T) {
		c := dial(t, ts)
		c.startTLS(ts)
		c.send("AUTHENTICATE \"PLAIN\"\r\n")
		if line := c.readLine(); line != `""` {
			t.Fatalf("PLAIN challenge %q", line)
		}
		// The response as a literal, as some clients send it.
		resp := plain("", testUser, testPassword)
		c.expect("OK", "", "{%d+}\r\n%s", len(resp), resp)
	})
	t.Run("LOGIN", func(t *testing.T) {
		c := dial(t, ts)
		c.startTLS(ts)
		c.send("AUTHENTICATE \"LOGIN\"\r\n")
		if line := c.readLine(); line != `"`+b64("Username:")+`"` {
			t.Fatalf("LOGIN challenge %q", line)
		}
		c.send(`"` + b64(testUser) + "\"\r\n")
		if line := c.readLine(); line != `"`+b64("Password:")+`"` {
			t.Fatalf("LOGIN challenge %q", line)
		}
		c.expect("OK", "", `"%s"`, b64(testPassword))
		c.expect("OK", "", "LISTSCRIPTS")
	})
	t.Run("cancel", func(t *testing.T) {
		c := dial(t, ts)
		c.startTLS(ts)
		c.send("AUTHENTICATE \"PLAIN\"\r\n")
		c.readLine()
		c.expect("NO", "", `"*"`)
		c.expect("NO", "", "LISTSCRIPTS")
	})
	t.Run("another identity", func(t *testing.T) {
		c := dial(t, ts)
		c.startTLS(ts)
		c.expect("NO", "", `AUTHENTICATE "PLAIN" "%s"`, plain("binh@example.gov.vn", testUser, testPassword))
	})
	t.Run("unknown mechanism", func(t *testing.T) {
		c := dial(t, ts)
		c.startTLS(ts)
		c.expect("NO", "", `AUTHENTICATE "CRAM-MD5"`)
	})
}

func TestWrongPasswordAndThrottle(t *testing.T) {
	ts := startServer(t)
	c := dial(t, ts)
	c.startTLS(ts)
	if r := c.expect("NO", "", `AUTHENTICATE "PLAIN" "%s"`, plain("", testUser, "sai")); r.code != "" {
		t.Errorf("wrong password answered with code %q", r.code)
	}
	r := c.expect("NO", "TRYLATER", `AUTHENTICATE "PLAIN" "%s"`, plain("", "locked@example.gov.vn", "x"))
	if !strings.Contains(r.text, "try again in 30 seconds") {
		t.Errorf("throttled reply %q does not say when to retry", r.text)
	}
	c.expect("NO", "", "LISTSCRIPTS")
	c.expect("OK", "", "LOGOUT")
	c.closed()
	ts.Close()
	if lines := ts.logs.Find(t, "managesieve login failed"); len(lines) != 1 || lines[0].Str("user") == "" {
		t.Errorf("failed login log lines: %v", lines)
	}
	if lines := ts.logs.Find(t, "managesieve login throttled"); len(lines) != 1 {
		t.Errorf("throttled login log lines: %v", lines)
	}
	if strings.Contains(ts.logs.String(), "sai") {
		t.Error("the password reached the log")
	}
	if lines := ts.logs.Find(t, "disconnected"); len(lines) != 1 || lines[0].Num(countFailedLogins) != 2 {
		t.Errorf("disconnect lines: %v", lines)
	}
}

func TestScriptLimits(t *testing.T) {
	ts := startServer(t) // MaxScriptBytes 4096, MaxScripts 3
	c := login(t, ts)
	big := strings.Repeat("#", 4097)
	c.expect("NO", "QUOTA/MAXSIZE", "PUTSCRIPT \"big\" {%d+}\r\n%s", len(big), big)
	c.expect("NO", "QUOTA/MAXSIZE", "CHECKSCRIPT {%d}\r\n%s", len(big), big) // synchronizing literal too
	c.expect("NO", "QUOTA/MAXSIZE", `HAVESPACE "big" 4097`)
	c.expect("NO", "QUOTA", `HAVESPACE "medium" 4000`) // the storage's own quota (fake: 3000 bytes)
	if _, stored := ts.scripts.get("big"); stored {
		t.Fatal("the oversized script was stored")
	}
	for i := range 3 {
		c.expect("OK", "", `PUTSCRIPT "s%d" "keep;"`, i)
	}
	c.expect("NO", "QUOTA/MAXSCRIPTS", `PUTSCRIPT "s3" "keep;"`)
	c.expect("NO", "QUOTA/MAXSCRIPTS", `HAVESPACE "s3" 10`)
	c.expect("OK", "", `PUTSCRIPT "s1" "discard;"`) // replacing one is not a new one
	c.expect("OK", "", `HAVESPACE "s1" 10`)
	c.expect("OK", "", "NOOP") // the session went on after every refusal
}

func TestLiteralLimits(t *testing.T) {
	ts := startServer(t) // literals drained up to 4 × 4096
	t.Run("too large to drain", func(t *testing.T) {
		c := login(t, ts)
		c.send("PUTSCRIPT \"x\" {20000+}\r\n")
		if r := c.read(); r.kind != "BYE" || r.code != "QUOTA/MAXSIZE" {
			t.Fatalf("got %v, want BYE (QUOTA/MAXSIZE)", r)
		}
		if !c.closed() {
			t.Fatal("still open")
		}
	})
	t.Run("before authentication", func(t *testing.T) {
		c := dial(t, ts)
		if r := c.do("NOOP {8192+}\r\n%s", strings.Repeat("x", 8192)); r.kind != "OK" { // a line's worth is read
			t.Fatalf("NOOP with a literal of 8192 bytes: %s", r.kind)
		}
		c.send("NOOP {8193+}\r\n") // more is not
		if r := c.read(); r.kind != "BYE" {
			t.Fatalf("got %v, want BYE", r)
		}
	})
	t.Run("line too long", func(t *testing.T) {
		c := dial(t, ts)
		c.send("NOOP \"" + strings.Repeat("a", 9000) + "\"\r\n")
		if r := c.read(); r.kind != "BYE" {
			t.Fatalf("got %v, want BYE", r)
		}
	})
	t.Run("long name as a literal", func(t *testing.T) {
		c := login(t, ts)
		name := strings.Repeat("đ", 129)
		c.expect("NO", "", "PUTSCRIPT {%d+}\r\n%s \"keep;\"", len(name), name)
		c.expect("OK", "", "NOOP")
	})
}

func TestCheckRefusesBadScript(t *testing.T) {
	ts := startServer(t)
	c := login(t, ts)
	script := "require \"fileinto\";\r\n  frobnicate;\r\n"
	r := c.expect("NO", "", "PUTSCRIPT \"lỗi\" {%d+}\r\n%s", len(script), script)
	if r.text != checkError {
		t.Fatalf("PUTSCRIPT refusal %q, want the checker's %q", r.text, checkError)
	}
	if _, stored := ts.scripts.get("lỗi"); stored {
		t.Fatal("a script with errors was stored")
	}
	if r := c.expect("NO", "", `CHECKSCRIPT "frobnicate;"`); r.text != checkError {
		t.Fatalf("CHECKSCRIPT refusal %q", r.text)
	}
	c.expect("NO", "", "CHECKSCRIPT {2+}\r\n\xff;")
	// A multi-line error text comes back as a literal.
	ts2 := startServer(t, func(o *Options) {
		o.Check = func(store.Account, []byte) error { return errors.New("line 1: bad\r\nline 2: worse") }
	})
	c2 := login(t, ts2)
	if r := c2.expect("NO", "", `CHECKSCRIPT "x"`); r.text != "line 1: bad\r\nline 2: worse" {
		t.Fatalf("multi-line refusal %q", r.text)
	}
}

func TestResponseCodes(t *testing.T) {
	ts := startServer(t)
	c := login(t, ts)
	c.expect("OK", "", `PUTSCRIPT "a" "keep;"`)
	c.expect("OK", "", `PUTSCRIPT "b" "keep;"`)
	tests := []struct{ cmd, kind, code string }{
		{`GETSCRIPT "none"`, "NO", "NONEXISTENT"},
		{`SETACTIVE "none"`, "NO", "NONEXISTENT"},
		{`DELETESCRIPT "none"`, "NO", "NONEXISTENT"},
		{`RENAMESCRIPT "none" "c"`, "NO", "NONEXISTENT"},
		{`RENAMESCRIPT "a" "b"`, "NO", "ALREADYEXISTS"},
		{`SETACTIVE "a"`, "OK", ""},
		{`DELETESCRIPT "a"`, "NO", "ACTIVE"},
		{`PUTSCRIPT "" "keep;"`, "NO", ""},
		{"PUTSCRIPT \"a\x01b\" \"keep;\"", "NO", ""},
		{`STARTTLS`, "NO", ""},
		{`AUTHENTICATE "PLAIN"`, "NO", ""},
	}
	for _, tt := range tests {
		if r := c.do("%s", tt.cmd); r.kind != tt.kind || r.code != tt.code {
			t.Errorf("%s: got %v, want %s (%s)", tt.cmd, r, tt.kind, tt.code)
		}
	}
	ts.scripts.mu.Lock()
	ts.scripts.fail = errors.New("bbolt: disk on fire")
	ts.scripts.mu.Unlock()
	r := c.expect("NO", "TRYLATER", "LISTSCRIPTS")
	if strings.Contains(r.text, "fire") {
		t.Errorf("an internal error reached the client: %q", r.text)
	}
}

func TestCommandsBeforeLogin(t *testing.T) {
	ts := startServer(t)
	c := dial(t, ts)
	for _, cmd := range []string{"LISTSCRIPTS", `GETSCRIPT "a"`, `PUTSCRIPT "a" "keep;"`, "UNAUTHENTICATE"} {
		if r := c.do("%s", cmd); r.kind != "NO" || !strings.Contains(r.text, "AUTHENTICATE first") {
			t.Errorf("%s before login: %v", cmd, r)
		}
	}
	if r := c.do(`NOOP "t1"`); r.kind != "OK" || r.code != `TAG "t1"` {
		t.Errorf("NOOP before login: %v", r)
	}
}

func TestErrorFloodSaysBye(t *testing.T) {
	ts := startServer(t) // MaxErrors 5
	c := dial(t, ts)
	for i := range 4 {
		if r := c.do("FROB%d", i); r.kind != "NO" {
			t.Fatalf("bad command %d: %v", i, r)
		}
	}
	if r := c.do(`NOOP "unterminated`); r.kind != "BYE" {
		t.Fatalf("fifth bad command: %v, want BYE", r)
	}
	if !c.closed() {
		t.Fatal("still open after BYE")
	}
}

func TestIdleTimeoutSaysBye(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.Limits.LoginTimeout = 200 * time.Millisecond })
	c := dial(t, ts)
	start := time.Now()
	if r := c.read(); r.kind != "BYE" {
		t.Fatalf("got %v, want BYE", r)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("BYE after %v", d)
	}
}

func TestCloseSaysBye(t *testing.T) {
	ts := startServer(t)
	c := login(t, ts)
	done := make(chan error, 1)
	go func() { done <- ts.Close() }()
	if r := c.read(); r.kind != "BYE" {
		t.Fatalf("got %v, want BYE", r)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if _, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		t.Fatal("still listening after Close")
	}
}

// Vietnamese names typed decomposed (NFD, as some systems do) name the same script as composed ones.
func TestScriptNamesNormalised(t *testing.T) {
	ts := startServer(t)
	c := login(t, ts)
	nfd := "Ba\u0301o ca\u0301o" // "Báo cáo" decomposed
	c.expect("OK", "", `PUTSCRIPT "%s" "keep;"`, nfd)
	if _, stored := ts.scripts.get("Báo cáo"); !stored {
		t.Fatal("the name was not stored in NFC")
	}
	c.expect("OK", "", `GETSCRIPT "Báo cáo"`)
	c.expect("OK", "", `SETACTIVE "%s"`, nfd)
	if r := c.expect("OK", "", "LISTSCRIPTS"); !r.hasLine(`"Báo cáo" ACTIVE`) {
		t.Fatalf("LISTSCRIPTS: %v", r)
	}
}

func TestArgumentErrors(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.Limits.MaxErrors = 100 })
	c := login(t, ts)
	for _, cmd := range []string{
		"PUTSCRIPT", `PUTSCRIPT "a"`, `PUTSCRIPT a "keep;"`, `HAVESPACE "a" "10"`, `HAVESPACE "a" 99999999999`,
		`GETSCRIPT "a" "b"`, "LISTSCRIPTS 1", `CAPABILITY "x"`, "NOOP  \"x\"", "NOOP ", `NOOP "a\x"`,
		`RENAMESCRIPT "a"`, "GETSCRIPT {3+}x",
	} {
		if r := c.do("%s", cmd); r.kind != "NO" {
			t.Errorf("%q: got %v, want NO", cmd, r)
		}
	}
	c.expect("OK", "", "noop") // command names are case-insensitive
}

// Commands pipelined in plaintext behind STARTTLS could be an attacker's, injected to run under TLS: the server
// hangs up instead of running them.
func TestStartTLSRefusesPipelinedPlaintext(t *testing.T) {
	ts := startServer(t)
	c := dial(t, ts)
	c.send("STARTTLS\r\nLISTSCRIPTS\r\n")
	if r := c.read(); r.kind != "OK" {
		t.Fatalf("STARTTLS: %v", r)
	}
	if !c.closed() {
		t.Fatal("the connection stayed open with plaintext pipelined after STARTTLS")
	}
}
