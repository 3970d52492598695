package smtp

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/auth"
)

// testClock is a throttle clock that moves only when told.
type testClock struct{ elapsed atomic.Int64 }

func (c *testClock) now() time.Time {
	return time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(c.elapsed.Load()))
}

func (c *testClock) advance(d time.Duration) { c.elapsed.Add(int64(d)) }

// A correct AUTH that the throttle would hold for 3 s is refused at once with 454 4.7.0 and when to try again,
// and succeeds when the client comes back, on the same connection. go-smtp renews its write deadline before
// every reply, so the wait that outlived a deadline was the client's: here a command timeout of 2 s.
func TestThrottledAuthAnsweredInTime(t *testing.T) {
	clock := &testClock{}
	p := auth.DefaultPolicy()
	p.Account = auth.Limits{Free: 1, BaseDelay: 3 * time.Second, MaxDelay: 3 * time.Second, Leak: time.Hour,
		LockAt: 10, LockFor: time.Hour}
	p.MaxWait = 100 * time.Millisecond
	e := newTestEnv(t, withThrottle(auth.NewThrottleWithPolicy(clock.now, p)),
		func(o *Options) { o.WriteTimeout = 2 * time.Second })
	c, err := gosmtp.DialTLS(e.subs, e.clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.CommandTimeout = 2 * time.Second
	an := "an@" + domain

	wantCode(t, "wrong password", c.Auth(sasl.NewPlainClient("", an, "wrong")), 535, gosmtp.EnhancedCode{5, 7, 8})
	se := wantCode(t, "right password owing 3 s", c.Auth(sasl.NewPlainClient("", an, passwords[an])),
		454, gosmtp.EnhancedCode{4, 7, 0})
	if !strings.Contains(se.Message, "try again in 3 seconds") {
		t.Errorf("454 %q: want when to try again", se.Message)
	}
	clock.advance(3 * time.Second)
	if err := c.Auth(sasl.NewPlainClient("", an, passwords[an])); err != nil {
		t.Fatalf("right password when told to come back: %v", err)
	}
	if err := send(c, an, []string{"binh@" + domain}, "From: "+an+"\r\nSubject: x\r\n\r\nx\r\n"); err != nil {
		t.Fatalf("sending after the login: %v", err)
	}
}
