package smtp

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/metrics"
	"mailserver/internal/metrics/metricstest"
)

// harvestWatch stands in for the harvest guard's clock and pauses, and reads the metrics: pauses are recorded
// rather than waited (or held until released, when hold is set), and time moves only when the test says.
type harvestWatch struct {
	mu       sync.Mutex
	now      time.Time
	delays   []time.Duration
	t        testing.TB
	metrics  *metrics.Metrics // the server's
	hold     chan struct{}
	paused   chan struct{} // told when a held pause begins
	released chan struct{}
}

func newHarvestEnv(t *testing.T) (*testEnv, *harvestWatch) {
	w := &harvestWatch{now: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), t: t, metrics: metrics.New(nil)}
	e := newTestEnv(t, func(o *Options) {
		o.Harvest = newHarvestGuard(HarvestLimits{}, w.clock, w.pause)
		o.Metrics = w.metrics
	})
	return e, w
}

func (w *harvestWatch) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *harvestWatch) advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
}

func (w *harvestWatch) pause(d time.Duration, cancel <-chan struct{}) {
	w.mu.Lock()
	w.delays = append(w.delays, d)
	hold := w.hold
	w.mu.Unlock()
	if hold != nil {
		w.paused <- struct{}{}
		select {
		case <-hold:
		case <-cancel:
		}
	}
}

func (w *harvestWatch) delaysSoFar() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.delays)
}

// unknown is how many RCPTs the server counted as refused for an unknown recipient.
func (w *harvestWatch) unknown() int {
	return int(metricstest.Gather(w.t, w.metrics).Value("mailserver_smtp_unknown_recipients_total"))
}

// closed is how many connections the server counted as closed for harvesting.
func (w *harvestWatch) closed() int {
	return int(metricstest.Gather(w.t, w.metrics).Value("mailserver_smtp_harvest_disconnects_total"))
}

// startTransaction opens a connection to the MX listener and sends EHLO and MAIL.
func startTransaction(t *testing.T, e *testEnv) *rawClient {
	t.Helper()
	c := dialRaw(t, e.mx)
	c.cmd("EHLO mx.other.example\r\n")
	if r := c.cmd("MAIL FROM:<sender@other.example>\r\n"); !strings.HasPrefix(r, "250") {
		t.Fatalf("MAIL: %q", r)
	}
	return c
}

// rcpt sends RCPT TO and fails the test unless the reply starts with want.
func (c *rawClient) rcpt(to, want string) {
	c.t.Helper()
	if r := c.cmd("RCPT TO:<" + to + ">\r\n"); !strings.HasPrefix(r, want) {
		c.t.Fatalf("RCPT TO:<%s>: got %q, want %q", to, r, want)
	}
}

// closedByServer fails the test unless the server has closed the connection.
func (c *rawClient) closedByServer() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := c.r.ReadByte(); !errors.Is(err, io.EOF) {
		c.t.Fatalf("connection still open: read %q, %v", b, err)
	}
}

func unknownAddr(i int) string { return fmt.Sprintf("khongco%d@%s", i, domain) }

// A client trying address after address: the first three unknown ones are answered at once, the next seven after
// a growing delay (capped at half the write timeout, 5 s here), and the next RCPT, even for a real address, gets
// 421 and the connection closes.
func TestHarvesterIsSlowedThenDisconnected(t *testing.T) {
	e, w := newHarvestEnv(t)
	c := startTransaction(t, e)
	for i := 1; i <= DefaultHarvestLimit; i++ {
		c.rcpt(unknownAddr(i), "550 5.1.1")
		// The pause comes before the reply, so by the time the reply is read it has been recorded.
		if got, want := len(w.delaysSoFar()), max(0, i-DefaultHarvestFree); got != want {
			t.Fatalf("after unknown recipient %d: %d delays, want %d", i, got, want)
		}
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second,
		5 * time.Second, 5 * time.Second}
	if got := w.delaysSoFar(); !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	c.rcpt("an@"+domain, "421 4.7.0") // no hint whether this one exists
	c.closedByServer()

	if w.unknown() != DefaultHarvestLimit || w.closed() != 1 {
		t.Errorf("metrics: %d refused as unknown, %d closed; want %d and 1", w.unknown(), w.closed(), DefaultHarvestLimit)
	}
	logs := e.logs.String()
	for _, want := range []string{`level=WARN msg="recipient harvesting: too many unknown recipients`,
		"client=127.0.0.1", "unknown_in_connection=10", "refused_for=15m0s", "code=421 enhanced=4.7.0",
		`reason="recipient harvesting" duration=`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

// The count is per client address, across connections: reconnecting neither restarts the free allowance nor ends
// the refusal, which lasts until the cooling period is over.
func TestHarvesterReconnectingIsStillLimited(t *testing.T) {
	e, w := newHarvestEnv(t)
	c := startTransaction(t, e)
	for i := 1; i <= DefaultHarvestFree; i++ {
		c.rcpt(unknownAddr(i), "550 5.1.1")
	}
	c.cmd("QUIT\r\n")
	if d := w.delaysSoFar(); len(d) != 0 {
		t.Fatalf("delays within the free allowance: %v", d)
	}

	c = startTransaction(t, e) // a new connection, the same address: the next unknown recipient is delayed at once
	c.rcpt(unknownAddr(4), "550 5.1.1")
	if d := w.delaysSoFar(); !slices.Equal(d, []time.Duration{time.Second}) {
		t.Fatalf("delays %v after reconnecting, want [1s]", d)
	}
	for i := 5; i <= DefaultHarvestLimit; i++ {
		c.rcpt(unknownAddr(i), "550 5.1.1")
	}
	c.cmd("QUIT\r\n") // leaving just before the limit does not help either

	c = startTransaction(t, e)
	c.rcpt("an@"+domain, "421 4.7.0")
	c.closedByServer()
	w.advance(10 * time.Minute)
	c = startTransaction(t, e)
	c.rcpt("an@"+domain, "421 4.7.0")
	c.closedByServer()
	if w.closed() != 2 || !strings.Contains(e.logs.String(), "client address still refused") {
		t.Errorf("%d connections closed, want 2; logs:\n%s", w.closed(), e.logs.String())
	}

	w.advance(DefaultHarvestCoolFor) // cooled down, and the count has drained meanwhile
	c = startTransaction(t, e)
	c.rcpt("an@"+domain, "250")
	c.rcpt(unknownAddr(11), "550 5.1.1")
	if n := len(w.delaysSoFar()); n != DefaultHarvestLimit-DefaultHarvestFree {
		t.Errorf("%d delays, want no more after the cooling period", n)
	}
}

// A normal sender with an occasional typo is never slowed, and its mail to the right addresses goes through.
func TestOccasionalUnknownRecipientIsNotSlowed(t *testing.T) {
	e, w := newHarvestEnv(t)
	c := e.dialMX()
	for round := range 4 {
		err := send(c, "sender@other.example", []string{"an@" + domain, "binh@" + domain}, "Subject: ok\r\n\r\nhi\r\n")
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		err = send(c, "sender@other.example", []string{"bihn@" + domain}, "Subject: typo\r\n\r\nhi\r\n")
		wantCode(t, "mistyped recipient", err, 550, gosmtp.EnhancedCode{5, 1, 1})
		if err := c.Reset(); err != nil {
			t.Fatal(err)
		}
		w.advance(2 * time.Minute) // one typo every two minutes drains as fast as it comes
	}
	if d := w.delaysSoFar(); len(d) != 0 {
		t.Errorf("an occasional typo was delayed: %v", d)
	}
	if n := len(e.inbox("an@" + domain)); n != 4 {
		t.Errorf("%d messages delivered, want 4", n)
	}
}

// Authenticated submission is not harvesting: staff can mistype as often as they like, without delays.
func TestSubmissionUnknownRecipientsAreNotLimited(t *testing.T) {
	e, w := newHarvestEnv(t)
	c := e.dialSubmission("an@" + domain)
	if err := c.Mail("an@"+domain, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 2 * DefaultHarvestLimit {
		wantCode(t, "unknown colleague", c.Rcpt(unknownAddr(i), nil), 550, gosmtp.EnhancedCode{5, 1, 1})
	}
	if err := c.Rcpt("binh@"+domain, nil); err != nil {
		t.Fatalf("known colleague after the typos: %v", err)
	}
	if d := w.delaysSoFar(); len(d) != 0 || w.closed() != 0 {
		t.Errorf("submission limited: delays %v, %d closed", d, w.closed())
	}
	if w.unknown() != 2*DefaultHarvestLimit {
		t.Errorf("%d counted as unknown, want %d", w.unknown(), 2*DefaultHarvestLimit)
	}
}

// A delayed reply holds nothing that other sessions need: while one connection waits, another from the same
// address is served; and closing the server ends the wait.
func TestHarvestDelayBlocksNoOtherSession(t *testing.T) {
	e, w := newHarvestEnv(t)
	w.hold, w.paused = make(chan struct{}), make(chan struct{}, 1)
	slow := startTransaction(t, e)
	for i := 1; i <= DefaultHarvestFree; i++ {
		slow.rcpt(unknownAddr(i), "550 5.1.1")
	}
	slow.write("RCPT TO:<" + unknownAddr(4) + ">\r\n")
	select {
	case <-w.paused:
	case <-time.After(30 * time.Second): // a bound, not a measurement
		t.Fatal("the fourth unknown recipient was not delayed")
	}

	other := e.dialMX()
	if err := send(other, "sender@other.example", []string{"an@" + domain}, "Subject: meanwhile\r\n\r\nhi\r\n"); err != nil {
		t.Fatalf("another session while one is delayed: %v", err)
	}
	close(w.hold)
	if r := slow.reply(); !strings.HasPrefix(r, "550 5.1.1") {
		t.Errorf("the delayed reply: %q", r)
	}
}
