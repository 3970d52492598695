package sieve

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// within fails the test when f takes longer than a bound generous for a loaded machine; it proves the absence of
// blow-ups, not speed.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	start := time.Now()
	f()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("%s took %v", what, d)
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		pattern, text string
		ok            bool
		caps          []string
	}{
		{"*", "", true, []string{"", ""}},
		{"a*c", "abbc", true, []string{"abbc", "bb"}},
		{"a?c", "aéc", true, []string{"aéc", "é"}},
		{"a?c", "ac", false, nil},
		{"*.*", "a.b.c", true, []string{"a.b.c", "a", "b.c"}},
		{"*x", "abc", false, nil},
		{`\*`, "*", true, []string{"*"}},
		{`\?`, "a", false, nil},
		{"*a*b", "xaxaxb", true, []string{"xaxaxb", "x", "xax"}},
	}
	for _, c := range cases {
		var caps []string
		ok := globCapture(c.pattern, c.text, c.text, &caps)
		if ok != c.ok || (ok && fmt.Sprint(caps) != fmt.Sprint(c.caps)) {
			t.Errorf("%q on %q: got %v %q, want %v %q", c.pattern, c.text, ok, caps, c.ok, c.caps)
		}
	}
	pattern := strings.Repeat("*?", 500) + "!"
	text := strings.Repeat("a", 20_000)
	within(t, "pathological :matches", func() {
		if globCapture(pattern, text, text, nil) {
			t.Error("matched")
		}
	})
}

func TestLimits(t *testing.T) {
	msg := newMessage("Subject: hello\n\n")
	t.Run("nesting", func(t *testing.T) {
		for _, src := range []string{
			strings.Repeat("if true {", 100_000) + strings.Repeat("}", 100_000),
			"if " + strings.Repeat("not ", 100_000) + "true { keep; }",
			"if " + strings.Repeat("anyof(", 100_000) + "true" + strings.Repeat(")", 100_000) + " { keep; }",
		} {
			var err error
			within(t, "deep script", func() { _, err = Compile([]byte(src), Options{}) })
			if err == nil || !strings.Contains(err.Error(), "nested deeper than 32") {
				t.Errorf("got %v", err)
			}
		}
	})
	t.Run("script size", func(t *testing.T) {
		_, err := Compile([]byte(strings.Repeat("#", 1<<20+1)), Options{})
		if err == nil || !strings.Contains(err.Error(), "more than the limit") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("1 MB script", func(t *testing.T) {
		rule := `if header :contains "subject" "khẩn cấp số 00000" { addflag "\\Flagged"; }` + "\n"
		src := "require \"imap4flags\";\n" + strings.Repeat(rule, (1<<20-30)/len(rule))
		within(t, "1 MB script", func() {
			res, err := Compile([]byte(src), Options{Limits: Limits{MaxCommands: 100_000}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := res.Run(msg, Envelope{}, RunOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("10,000 rules on a 1 MB header", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("require \"fileinto\";\n")
		for i := range 10_000 {
			fmt.Fprintf(&b, "if header :matches \"subject\" \"*rule %d*x\" { fileinto \"box%d\"; }\n", i, i)
		}
		s := mustCompile(t, b.String())
		big := newMessage("Subject: " + strings.Repeat("a", 1<<20) + "\n\n")
		within(t, "10,000 rules", func() {
			_, err := s.Run(big, Envelope{}, RunOptions{})
			var se *Error
			if !errors.As(err, &se) || !strings.Contains(se.Msg, "steps") {
				t.Errorf("got %v, want the step budget spent", err)
			}
		})
		within(t, "10,000 rules, small message", func() {
			if res, err := s.Run(msg, Envelope{}, RunOptions{}); err != nil || summary(res) != "implicit" {
				t.Errorf("got %v, %v", res, err)
			}
		})
	})
	t.Run("commands", func(t *testing.T) {
		_, err := Compile([]byte(strings.Repeat("keep;", 20_001)), Options{})
		if err == nil || !strings.Contains(err.Error(), "more than 20000 commands") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("redirects", func(t *testing.T) {
		var b strings.Builder
		for i := range 6 {
			fmt.Fprintf(&b, "redirect \"u%d@example.net\";\n", i)
		}
		_, err := mustCompile(t, b.String()).Run(msg, Envelope{}, RunOptions{})
		if err == nil || !strings.Contains(err.Error(), "more than 5 addresses") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("actions", func(t *testing.T) {
		_, err := mustCompile(t, strings.Repeat("keep;", 257)).Run(msg, Envelope{}, RunOptions{})
		if err == nil || !strings.Contains(err.Error(), "more than 256 actions") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("variable doubling", func(t *testing.T) {
		src := `require "variables"; set "a" "0123456789";` + strings.Repeat(`set "a" "${a}${a}";`, 60) +
			`set :length "n" "${a}"; if string :is "${n}" "65536" { discard; }`
		within(t, "doubling", func() {
			if res := mustRun(t, src, msg, Envelope{}); !res.Discard {
				t.Error("variable not bounded at 64 KiB")
			}
		})
	})
}

func TestMailboxExists(t *testing.T) {
	s := mustCompile(t, `require ["mailbox", "fileinto"]; if mailboxexists "Công văn" { fileinto "Công văn"; }`)
	exists := func(name string) bool { return name == "Công văn" }
	res, err := s.Run(newMessage("\n"), Envelope{}, RunOptions{MailboxExists: exists})
	if err != nil || summary(res) != "fileinto:Công văn" {
		t.Fatalf("got %v, %v", res, err)
	}
	if _, err := s.Run(newMessage("\n"), Envelope{}, RunOptions{}); err == nil {
		t.Fatal("mailboxexists without a callback: no error")
	}
}
