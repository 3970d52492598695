package smtp

import (
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/netlimit"
)

// Messages being received share one memory budget: while one connection holds most of it, another message gets a
// temporary 451 4.3.1 rather than more memory, and goes through once the first is stored.
func TestMessageMemoryBudget(t *testing.T) {
	memory := netlimit.NewMemory(200 << 10)
	e := newTestEnv(t, func(o *Options) { o.Memory = memory; o.MaxMessageBytes = 180 << 10 })

	// The first sender stops half-way through a 150 KB message, holding its part of the budget.
	slow := dialRaw(t, e.mx)
	for _, c := range []struct{ cmd, want string }{{"EHLO slow.example", "250"}, {"MAIL FROM:<a@other.example>", "250"},
		{"RCPT TO:<an@" + domain + ">", "250"}, {"DATA", "354"}} {
		if reply := slow.cmd(c.cmd + "\r\n"); !strings.HasPrefix(reply, c.want) {
			t.Fatalf("%s: %q, want %s", c.cmd, reply, c.want)
		}
	}
	line := strings.Repeat("x", 998) + "\r\n"
	slow.write("Subject: slow\r\n\r\n" + strings.Repeat(line, 100)) // 100 KB so far
	deadline := time.Now().Add(10 * time.Second)
	for memory.Free() > 100<<10 {
		if time.Now().After(deadline) {
			t.Fatalf("the slow message never took its memory: %d bytes free", memory.Free())
		}
		time.Sleep(5 * time.Millisecond)
	}

	big := "Subject: big\r\n\r\n" + strings.Repeat(line, 150)
	wantCode(t, "second message while the budget is held", send(e.dialMX(), "b@other.example", []string{"an@" + domain}, big),
		451, gosmtp.EnhancedCode{4, 3, 1})

	if reply := slow.cmd(strings.Repeat(line, 50) + ".\r\n"); !strings.HasPrefix(reply, "250") {
		t.Fatalf("the slow message: %q", reply)
	}
	if err := send(e.dialMX(), "b@other.example", []string{"an@" + domain}, big); err != nil {
		t.Fatalf("after the first message was stored: %v", err)
	}
	if n := len(e.inbox("an@" + domain)); n != 2 {
		t.Errorf("%d messages stored, want 2", n)
	}
	if free := memory.Free(); free != 200<<10 {
		t.Errorf("%d bytes of the budget free after both messages, want all of it", free)
	}
}
