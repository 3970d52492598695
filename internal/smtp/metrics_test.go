package smtp

import (
	"crypto/tls"
	"strings"
	"testing"

	"mailserver/internal/metrics"
	"mailserver/internal/metrics/metricstest"
)

// Every reply is counted by its class on its listener, whether the session chose it (550 5.1.1) or go-smtp did
// (the greeting, 354, a command it does not know), and an accepted message with its size. Without the OnReply
// patch to third_party/go-smtp only the session's own replies could be counted.
func TestRepliesAndAcceptedMessagesCounted(t *testing.T) {
	m := metrics.New(nil)
	e := newTestEnv(t, func(o *Options) { o.Metrics = m })
	msg := "From: sender@other.example\r\nSubject: x\r\n\r\nhello\r\n"

	c := dialRaw(t, e.mx)                                        // 220
	c.cmd("EHLO mx.other.example\r\n")                           // 250
	c.cmd("MAIL FROM:<sender@other.example>\r\n")                // 250
	c.cmd("RCPT TO:<khong-co@" + domain + ">\r\n")               // 550
	c.cmd("RCPT TO:<binh@" + domain + ">\r\n")                   // 250
	c.cmd("DATA\r\n")                                            // 354
	if r := c.cmd(msg + ".\r\n"); !strings.HasPrefix(r, "250") { // 250
		t.Fatalf("end of data: %q", r)
	}
	c.cmd("XYZZY\r\n") // 500 or 502, from go-smtp
	c.cmd("QUIT\r\n")  // 221

	tc, err := tls.Dial("tcp", e.subs, e.clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	buf := make([]byte, 512)
	if _, err := tc.Read(buf); err != nil { // the greeting
		t.Fatal(err)
	}

	s := metricstest.Gather(t, m)
	s.Want(t, 6, "mailserver_smtp_replies_total", "listener", "mx", "class", "2xx")
	s.Want(t, 1, "mailserver_smtp_replies_total", "listener", "mx", "class", "3xx")
	s.Want(t, 0, "mailserver_smtp_replies_total", "listener", "mx", "class", "4xx")
	s.Want(t, 2, "mailserver_smtp_replies_total", "listener", "mx", "class", "5xx")
	s.Want(t, 1, "mailserver_smtp_replies_total", "listener", "submissions", "class", "2xx")
	s.Want(t, 0, "mailserver_smtp_replies_total", "listener", "submission", "class", "2xx")
	s.Want(t, 1, "mailserver_smtp_messages_accepted_total", "listener", "mx")
	s.Want(t, float64(len(msg)), "mailserver_smtp_accepted_bytes_total", "listener", "mx")
	s.Want(t, 1, "mailserver_smtp_delivery_duration_seconds_count", "listener", "mx")
	s.Want(t, 1, "mailserver_smtp_unknown_recipients_total")
}
