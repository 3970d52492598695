package queue

import (
	"context"
	"sync"
	"testing"
	"time"

	"mailserver/internal/outbound"
	"mailserver/internal/store"
)

// slowTransport is a server that takes took (on the test clock) to answer each recipient with 451.
type slowTransport struct {
	clock *time.Time
	took  time.Duration
	calls int
}

func (s *slowTransport) Deliver(_ context.Context, _ []outbound.Target, env outbound.Envelope, _ []byte) []outbound.Result {
	s.calls++
	*s.clock = s.clock.Add(s.took)
	var out []outbound.Result
	for _, r := range env.Recipients {
		out = append(out, outbound.Result{Recipient: r, Reply: outbound.Reply{Code: 451, Enhanced: "4.4.2", Text: "timed out"}})
	}
	return out
}

// The wait before the next attempt counts from the end of this one: an attempt that spent ten minutes on a slow
// server must not be repeated at once, which would collapse the retry schedule.
func TestRetryCountsFromTheEndOfTheAttempt(t *testing.T) {
	e := newEnv(t, fakeRouter{})
	slow := &slowTransport{clock: &e.clock, took: 10 * time.Minute}
	e.worker = New(Options{Store: e.st, Deliverer: e.d, Router: fakeRouter{}, Transport: slow, Hostname: "mail." + localDomain,
		Retry: []time.Duration{time.Minute}, Now: func() time.Time { return e.clock }})
	id := e.submit(t, "x@other.gov.vn")
	e.runDue(t)
	m, err := e.st.QueuedMessage(id)
	if err != nil {
		t.Fatal(err)
	}
	if want := e.clock.Add(time.Minute); !m.NextAttempt.Equal(want) || !m.LastAttempt.Equal(e.clock) {
		t.Errorf("attempt ended %v: last attempt %v, next %v; want the end and a minute after it", e.clock, m.LastAttempt, m.NextAttempt)
	}
	e.runDue(t)
	if slow.calls != 1 {
		t.Errorf("%d deliveries with no time passed after the first, want 1", slow.calls)
	}
}

// A dispatcher that read the due index just before an attempt recorded its result may start the message again;
// the attempt itself must see that it is no longer due.
func TestStaleDispatchMakesNoSecondAttempt(t *testing.T) {
	e := newEnv(t, fakeRouter{})
	e.transport.replies["x@other.gov.vn"] = outbound.Reply{Code: 451, Enhanced: "4.3.0", Text: "try later"}
	id := e.submit(t, "x@other.gov.vn")
	e.runDue(t)
	e.worker.attempt(context.Background(), id) // as a dispatch working from the old due index would
	m, err := e.st.QueuedMessage(id)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.transport.callCount(); n != 1 || m.Attempts != 1 {
		t.Errorf("%d deliveries and %d attempts recorded, want 1 of each: the retry is a minute away", n, m.Attempts)
	}
}

// cutShortTransport delivers to the first recipient, then waits for the shutdown and reports the rest as lost
// connections, as outbound.Client does when its context ends.
type cutShortTransport struct{ started chan struct{} }

func (c *cutShortTransport) Deliver(ctx context.Context, _ []outbound.Target, env outbound.Envelope, _ []byte) []outbound.Result {
	close(c.started)
	<-ctx.Done()
	out := []outbound.Result{{Recipient: env.Recipients[0], Reply: outbound.Reply{Code: 250, Enhanced: "2.0.0", Text: "ok"}, Delivered: true}}
	for _, r := range env.Recipients[1:] {
		out = append(out, outbound.Result{Recipient: r, Reply: outbound.Reply{Enhanced: "4.4.2", Text: "connection lost: context canceled"}})
	}
	return out
}

// An attempt cut short by shutdown keeps what it settled, and the rest is due again at the next start: it is not
// counted as an attempt, and the last real reply of the remote server is not overwritten.
func TestShutdownMidAttemptIsNotAnAttempt(t *testing.T) {
	e := newEnv(t, fakeRouter{})
	e.transport.replies["y@other.gov.vn"] = outbound.Reply{Code: 451, Enhanced: "4.3.0", Text: "try later", Host: "mx.other.gov.vn"}
	id := e.submit(t, "x@other.gov.vn", "y@other.gov.vn")
	// A first, whole attempt: x is refused for now too, so both stay pending with a reply.
	e.transport.replies["x@other.gov.vn"] = e.transport.replies["y@other.gov.vn"]
	e.runDue(t)
	e.clock = e.clock.Add(time.Minute)

	cut := &cutShortTransport{started: make(chan struct{})}
	e.worker.opts.Transport = cut
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	e.worker.dispatch(ctx, &wg, make(chan struct{}, 1))
	select {
	case <-cut.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the second attempt never started")
	}
	cancel()
	wg.Wait()

	m, err := e.st.QueuedMessage(id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Attempts != 1 || m.NextAttempt.After(e.clock) {
		t.Errorf("after a shutdown mid-attempt: %d attempts, next %v (now %v); want 1 and still due", m.Attempts, m.NextAttempt, e.clock)
	}
	for _, r := range m.Recipients {
		switch r.Address {
		case "x@other.gov.vn":
			if r.Status != store.RecipientDelivered {
				t.Errorf("x was delivered before the shutdown but is %v", r.Status)
			}
		case "y@other.gov.vn":
			if r.Status != store.RecipientPending || r.Reply != "451 4.3.0 try later" {
				t.Errorf("y: %v %q; want pending with the remote server's last reply", r.Status, r.Reply)
			}
		}
	}
}

// A sender whose mailbox is over its quota still gets the bounce for their own mail: refused, it would be lost
// for good, since the failed recipient is not tried again.
func TestBounceReachesASenderOverQuota(t *testing.T) {
	e := newEnv(t, fakeRouter{})
	e.transport.replies["nobody@other.gov.vn"] = outbound.Reply{Code: 550, Enhanced: "5.1.1", Text: "no such user", Host: "mx.other.gov.vn"}
	e.submit(t, "nobody@other.gov.vn")
	if _, err := e.st.UpdateAccount("an@"+localDomain, func(a *store.Account) error { a.Quota = 1; return nil }); err != nil {
		t.Fatal(err)
	}
	a, _ := e.st.Account("an@" + localDomain)
	if _, err := e.st.Deliver(store.NewMessage{Body: []byte("Subject: full\r\n\r\nthe mailbox is full\r\n")}, []store.Copy{{AccountID: a.ID}}); err != nil {
		t.Fatal(err)
	}
	e.runDue(t)
	if inbox := e.inbox(t); len(inbox) != 2 {
		t.Fatalf("the sender over quota has %d messages, want the one that filled it and the bounce", len(inbox))
	}
}

// When the store cannot record an attempt, the message is held back for the first retry step instead of being
// sent again and again while its due time in the store stays in the past.
func TestHeldMessageWaitsForTheFirstRetryStep(t *testing.T) {
	e := newEnv(t, fakeRouter{})
	e.submit(t, "x@other.gov.vn")
	ids, _, err := e.st.DueMessages(e.clock, 10)
	if err != nil || len(ids) != 1 {
		t.Fatalf("due: %v, %v", ids, err)
	}
	e.worker.hold(ids[0], e.clock) // what a failed UpdateQueued does
	e.runDue(t)
	if n := e.transport.callCount(); n != 0 {
		t.Fatalf("%d deliveries of a held message", n)
	}
	e.clock = e.clock.Add(time.Minute)
	e.runDue(t)
	if n := e.transport.callCount(); n != 1 {
		t.Fatalf("%d deliveries once the hold ran out, want 1", n)
	}
	e.worker.mu.Lock()
	defer e.worker.mu.Unlock()
	if len(e.worker.held) != 0 || len(e.worker.domains) != 0 {
		t.Errorf("left behind: %d holds, %d destination limits", len(e.worker.held), len(e.worker.domains))
	}
}

// heldTransport holds each delivery until released, then answers every recipient with reply.
type heldTransport struct {
	started chan struct{}
	release chan struct{}
	reply   outbound.Reply
}

func (h *heldTransport) Deliver(_ context.Context, _ []outbound.Target, env outbound.Envelope, _ []byte) []outbound.Result {
	h.started <- struct{}{}
	<-h.release
	var out []outbound.Result
	for _, r := range env.Recipients {
		out = append(out, outbound.Result{Recipient: r, Reply: h.reply, Delivered: h.reply.Code/100 == 2})
	}
	return out
}

// 'queue retry' while an attempt is under way is meant for the next attempt: the attempt's own schedule must not
// overwrite it. The worker tells the administration layer meanwhile that the attempt is in progress.
func TestRetryAskedDuringAnAttemptIsKept(t *testing.T) {
	e := newEnv(t, fakeRouter{})
	held := &heldTransport{started: make(chan struct{}, 1), release: make(chan struct{}),
		reply: outbound.Reply{Code: 451, Enhanced: "4.4.1", Text: "connection timed out"}}
	e.worker.opts.Transport = held
	e.worker.opts.Retry = []time.Duration{4 * time.Hour}
	id := e.submit(t, "x@other.gov.vn")
	var wg sync.WaitGroup
	e.worker.dispatch(context.Background(), &wg, make(chan struct{}, 1))
	select {
	case <-held.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the attempt never started")
	}
	if !e.worker.InProgress(id) {
		t.Error("InProgress is false during the attempt")
	}
	retryAt := e.clock.Add(-time.Second) // what 'queue retry' writes: now
	if _, err := e.st.UpdateQueued(id, func(q *store.QueuedMessage) error { q.NextAttempt = retryAt; return nil }); err != nil {
		t.Fatal(err)
	}
	close(held.release)
	wg.Wait()
	if e.worker.InProgress(id) {
		t.Error("InProgress is still true after the attempt")
	}
	m, err := e.st.QueuedMessage(id)
	if err != nil {
		t.Fatal(err)
	}
	if !m.NextAttempt.Equal(retryAt) || m.Attempts != 1 {
		t.Errorf("next attempt %v, %d attempts; want the retry asked for (%v) kept, and 1", m.NextAttempt, m.Attempts, retryAt)
	}
}
