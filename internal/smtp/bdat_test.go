package smtp

import (
	"fmt"
	"strings"
	"testing"
)

// A BDAT transfer abandoned with RSET must not answer for the next one: each new message gets its own 250, and
// each is stored once. (go-smtp v0.25.1 handed the abandoned transfer's result to the next BDAT; see
// third_party/go-smtp/PATCHES.md. Under -race it also reported the data race.)
func TestBDATAbandonedByRSETDoesNotAnswerForTheNext(t *testing.T) {
	e := newTestEnv(t)
	c := dialRaw(t, e.mx)
	cmd := c.cmd
	cmd("EHLO mx.other.example\r\n")
	const rounds = 20
	msg := "Subject: ok\r\n\r\nbody\r\n"
	for i := range rounds {
		cmd("MAIL FROM:<a@other.example>\r\n")
		cmd("RCPT TO:<chi@" + domain + ">\r\n")
		cmd("BDAT 5\r\nSubje")
		cmd("RSET\r\n")
		cmd("MAIL FROM:<a@other.example>\r\n")
		cmd("RCPT TO:<chi@" + domain + ">\r\n")
		if reply := cmd(fmt.Sprintf("BDAT %d LAST\r\n%s", len(msg), msg)); !strings.HasPrefix(reply, "250") {
			t.Errorf("round %d: the complete message got %q", i, reply)
		}
	}
	if n := len(e.inbox("chi@" + domain)); n != rounds {
		t.Errorf("%d messages stored, want %d", n, rounds)
	}
}
