package imap

import (
	"testing"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/metrics"
	"mailserver/internal/metrics/metricstest"
)

// A session is counted while its connection is open and in IDLE while it idles; each command it handles is counted
// under its name, the UID forms and EXAMINE apart.
func TestSessionsAndCommandsCounted(t *testing.T) {
	m := metrics.New(nil)
	ts := newTestServer(t, func(c *testConfig) { c.opts.Metrics = m })
	read := func() metricstest.Snapshot { return metricstest.Gather(t, m) }

	c := ts.client(t, nil) // LOGIN
	appendMsg(t, c, "INBOX", []byte("Subject: x\r\n\r\nhi\r\n"), nil)
	selectBox(t, c, "INBOX", true)
	if _, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true}).Collect(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fetch(imap.UIDSetNum(1), &imap.FetchOptions{Flags: true}).Collect(); err != nil {
		t.Fatal(err)
	}
	read().Want(t, 1, "mailserver_imap_sessions")
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	metricstest.WaitFor(t, read, 1, "mailserver_imap_idle_sessions")
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}

	s := read()
	for command, want := range map[string]float64{"LOGIN": 1, "APPEND": 1, "EXAMINE": 1, "SELECT": 0, "FETCH": 1,
		"UID FETCH": 1, "IDLE": 1, "other": 0} {
		s.Want(t, want, "mailserver_imap_command_duration_seconds_count", "command", command)
	}
	s.Want(t, 0, "mailserver_imap_idle_sessions")
	c.Close()
	metricstest.WaitFor(t, read, 0, "mailserver_imap_sessions")
}
