package queue

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailserver/internal/delivery"
	"mailserver/internal/outbound"
	"mailserver/internal/store"
)

const localDomain = "hanoi.gov.vn"

// fakeTransport answers per recipient from a table and records every delivery it was asked for.
type fakeTransport struct {
	mu      sync.Mutex
	replies map[string]outbound.Reply // by recipient; absent: 250
	calls   []outbound.Envelope
	bodies  [][]byte
}

func (f *fakeTransport) Deliver(_ context.Context, _ []outbound.Target, env outbound.Envelope, msg []byte) []outbound.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, env)
	f.bodies = append(f.bodies, msg)
	var out []outbound.Result
	for _, r := range env.Recipients {
		reply, ok := f.replies[r]
		if !ok {
			reply = outbound.Reply{Code: 250, Enhanced: "2.0.0", Text: "ok", Host: "mx." + domainOf(r)}
		}
		out = append(out, outbound.Result{Recipient: r, Reply: reply, Delivered: reply.Code/100 == 2})
	}
	return out
}

func (f *fakeTransport) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// fakeRouter routes every domain to one loopback target, except those listed as failing.
type fakeRouter struct{ fail map[string]error }

func (r fakeRouter) Targets(_ context.Context, domain string) ([]outbound.Target, error) {
	if err := r.fail[domain]; err != nil {
		return nil, err
	}
	return []outbound.Target{{Host: "mx." + domain, Addr: "127.0.0.1:25"}}, nil
}

type testEnv struct {
	st        *store.Store
	d         *delivery.Deliverer
	transport *fakeTransport
	clock     time.Time
	worker    *Worker
}

func newEnv(t *testing.T, router Router) *testEnv {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "mail.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("store check: %v", err)
		}
		st.Close()
	})
	if err := st.AddDomain(localDomain); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddAccount(store.Account{Address: "an@" + localDomain}); err != nil {
		t.Fatal(err)
	}
	e := &testEnv{st: st, d: delivery.New(st, "mail."+localDomain, nil, nil), transport: &fakeTransport{replies: map[string]outbound.Reply{}},
		// A little ahead of the store's clock, which stamps queued messages: they are due at once.
		clock: time.Now().Add(time.Second)}
	e.worker = New(Options{Store: st, Deliverer: e.d, Router: router, Transport: e.transport, Hostname: "mail." + localDomain,
		Retry: []time.Duration{time.Minute, time.Hour}, MaxAge: 24 * time.Hour, WarnAfter: 2 * time.Hour,
		Now: func() time.Time { return e.clock }})
	return e
}

// submit queues a message from an@ to rcpts, as a submission would.
func (e *testEnv) submit(t *testing.T, rcpts ...string) string {
	t.Helper()
	ctx := context.Background()
	tx := e.d.Begin(ctx, delivery.Envelope{From: "an@" + localDomain, Authenticated: "an@" + localDomain, Submission: true})
	for _, r := range rcpts {
		if err := tx.AddRecipient(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	res, err := tx.Commit(ctx, []byte("From: An <an@hanoi.gov.vn>\r\nTo: x@other.gov.vn\r\nSubject: Công văn số 12\r\nMessage-ID: <cv12@hanoi.gov.vn>\r\n\r\nNội dung.\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return res.ID
}

// runDue makes one pass over what is due now and waits for it.
func (e *testEnv) runDue(t *testing.T) {
	t.Helper()
	var wg sync.WaitGroup
	done := make(chan struct{}, 1)
	e.worker.dispatch(context.Background(), &wg, done)
	wg.Wait()
}

// inbox returns an@'s messages, trace and body.
func (e *testEnv) inbox(t *testing.T) []string {
	t.Helper()
	a, _ := e.st.Account("an@" + localDomain)
	mb, _ := e.st.Mailbox(a.ID, "INBOX")
	uids, _ := e.st.UIDs(mb.ID)
	msgs, err := e.st.Messages(mb.ID, uids, store.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		b, _ := io.ReadAll(io.NewSectionReader(e.st.Body(m.Body, m.BodySize), 0, m.BodySize))
		out = append(out, string(m.Trace)+string(b))
	}
	return out
}

func TestDeliversOneConnectionPerDomain(t *testing.T) {
	e := newEnv(t, fakeRouter{})
	id := e.submit(t, "x@other.gov.vn", "y@other.gov.vn", "z@third.gov.vn")
	e.runDue(t)
	if n := e.transport.callCount(); n != 2 {
		t.Fatalf("%d deliveries, want 2 (one per domain)", n)
	}
	for i, env := range e.transport.calls {
		if env.From != "an@"+localDomain {
			t.Errorf("delivery %d from %q", i, env.From)
		}
		if !strings.HasPrefix(string(e.transport.bodies[i]), "Received: from ") ||
			!strings.HasSuffix(string(e.transport.bodies[i]), "\r\n\r\nNội dung.\r\n") {
			t.Errorf("delivery %d sent %q", i, e.transport.bodies[i])
		}
	}
	if _, err := e.st.QueuedMessage(id); err == nil {
		t.Error("a delivered message is still queued")
	}
	if n := len(e.inbox(t)); n != 0 {
		t.Errorf("the sender got %d reports for a delivered message", n)
	}
}

func TestPermanentFailureBouncesAtOnce(t *testing.T) {
	e := newEnv(t, fakeRouter{})
	e.transport.replies["nobody@other.gov.vn"] = outbound.Reply{Code: 550, Enhanced: "5.1.1", Text: "no such user", Host: "mx.other.gov.vn"}
	id := e.submit(t, "nobody@other.gov.vn", "x@other.gov.vn")
	e.runDue(t)
	if _, err := e.st.QueuedMessage(id); err == nil {
		t.Error("the message stayed queued after one delivery and one permanent failure")
	}
	inbox := e.inbox(t)
	if len(inbox) != 1 {
		t.Fatalf("sender has %d messages, want one bounce", len(inbox))
	}
	for _, want := range []string{"Return-Path: <>", "multipart/report", "nobody@other.gov.vn", "5.1.1", "no such user"} {
		if !strings.Contains(inbox[0], want) {
			t.Errorf("bounce lacks %q:\n%s", want, inbox[0])
		}
	}
	if strings.Contains(inbox[0], "Final-Recipient: rfc822; x@other.gov.vn") {
		t.Error("the bounce names the recipient that was delivered")
	}
}

func TestTemporaryFailureRetriesThenExpires(t *testing.T) {
	e := newEnv(t, fakeRouter{})
	e.transport.replies["x@other.gov.vn"] = outbound.Reply{Code: 451, Enhanced: "4.3.0", Text: "try later", Host: "mx.other.gov.vn"}
	id := e.submit(t, "x@other.gov.vn")
	e.runDue(t)
	m, err := e.st.QueuedMessage(id)
	if err != nil || m.Attempts != 1 || !m.NextAttempt.Equal(e.clock.Add(time.Minute)) || m.Recipients[0].Reply != "451 4.3.0 try later" {
		t.Fatalf("after a 451: %+v, %v; want attempt 1, next in 1m, the reply kept", m, err)
	}
	e.runDue(t) // nothing due yet
	if n := e.transport.callCount(); n != 1 {
		t.Fatalf("%d deliveries before the retry was due, want 1", n)
	}
	e.clock = e.clock.Add(time.Minute)
	e.runDue(t)
	m, _ = e.st.QueuedMessage(id)
	if m.Attempts != 2 || !m.NextAttempt.Equal(e.clock.Add(time.Hour)) {
		t.Errorf("second attempt: attempts %d next %v; want 2 and an hour later (the last step repeats)", m.Attempts, m.NextAttempt)
	}
	// Past warn_after: one delay warning, not one per attempt.
	for range 2 {
		e.clock = e.clock.Add(2 * time.Hour)
		e.runDue(t)
	}
	inbox := e.inbox(t)
	if len(inbox) != 1 || !strings.Contains(inbox[0], "Action: delayed") {
		t.Fatalf("after the warning time: %d messages, want one delay warning", len(inbox))
	}
	// Past max_age: bounced as expired.
	e.clock = e.clock.Add(24 * time.Hour)
	e.runDue(t)
	if _, err := e.st.QueuedMessage(id); err == nil {
		t.Error("an expired message is still queued")
	}
	inbox = e.inbox(t)
	if len(inbox) != 2 || !strings.Contains(inbox[1], "Action: failed") || !strings.Contains(inbox[1], "4.4.7") {
		t.Fatalf("after max_age: %d messages, want a bounce with 4.4.7 after the warning:\n%s", len(inbox), inbox[len(inbox)-1])
	}
}

func TestRoutingErrors(t *testing.T) {
	e := newEnv(t, fakeRouter{fail: map[string]error{
		"nullmx.gov.vn":  &outbound.Error{Permanent: true, Status: "5.1.10", Text: "nullmx.gov.vn accepts no mail (null MX)"},
		"dnsdown.gov.vn": &outbound.Error{Status: "4.4.3", Text: "DNS lookup failed"},
	}})
	id := e.submit(t, "a@nullmx.gov.vn", "b@dnsdown.gov.vn")
	e.runDue(t)
	m, err := e.st.QueuedMessage(id)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Pending(); len(got) != 1 || got[0].Address != "b@dnsdown.gov.vn" || got[0].Code != "4.4.3" {
		t.Errorf("pending %+v, want only the DNS failure, kept for retry", got)
	}
	if inbox := e.inbox(t); len(inbox) != 1 || !strings.Contains(inbox[0], "5.1.10") {
		t.Errorf("want one bounce for the null MX domain, got %d messages", len(inbox))
	}
}

func TestBounceRequestedAndNullSender(t *testing.T) {
	e := newEnv(t, fakeRouter{})
	id := e.submit(t, "x@other.gov.vn")
	if _, err := e.st.UpdateQueued(id, func(m *store.QueuedMessage) error {
		m.BounceRequested = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.runDue(t)
	if n := e.transport.callCount(); n != 0 {
		t.Errorf("a message the administrator bounced was still delivered (%d)", n)
	}
	if inbox := e.inbox(t); len(inbox) != 1 || !strings.Contains(inbox[0], "5.0.0") {
		t.Fatalf("want one bounce naming the administrator's removal, got %d", len(inbox))
	}

	// A report itself is never reported on: a bounce to a remote sender that fails is dropped.
	e.transport.replies["gone@other.gov.vn"] = outbound.Reply{Code: 550, Enhanced: "5.1.1", Text: "no such user"}
	res, err := e.d.Report(context.Background(), nil, "gone@other.gov.vn", []byte("From: MAILER-DAEMON@x\r\nSubject: r\r\n\r\nx\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	e.runDue(t)
	if _, err := e.st.QueuedMessage(res.ID); err == nil {
		t.Error("the failed report is still queued")
	}
	if n := len(e.inbox(t)); n != 1 {
		t.Errorf("%d messages; a failed report must not produce another", n)
	}
}

// Run picks up a new message as soon as it is committed, and stops when its context ends.
func TestRunWakesOnCommit(t *testing.T) {
	e := newEnv(t, fakeRouter{})
	e.worker.opts.Now = time.Now
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		e.worker.Run(ctx)
	}()
	id := e.submit(t, "x@other.gov.vn")
	deadline := time.Now().Add(10 * time.Second)
	for e.transport.callCount() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if e.transport.callCount() != 1 {
		t.Fatal("the worker did not deliver a new message within 10s")
	}
	for time.Now().Before(deadline) {
		if _, err := e.st.QueuedMessage(id); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if _, err := e.st.QueuedMessage(id); err == nil {
		t.Error("the delivered message is still queued")
	}
}

// gatedTransport holds each delivery until released and records how many ran at once per domain.
type gatedTransport struct {
	mu      sync.Mutex
	running map[string]int
	peak    map[string]int
	total   int
	release chan struct{}
}

func (g *gatedTransport) Deliver(_ context.Context, _ []outbound.Target, env outbound.Envelope, _ []byte) []outbound.Result {
	d := domainOf(env.Recipients[0])
	g.mu.Lock()
	g.running[d]++
	g.total++
	g.peak[d] = max(g.peak[d], g.running[d])
	g.mu.Unlock()
	<-g.release
	g.mu.Lock()
	g.running[d]--
	g.mu.Unlock()
	var out []outbound.Result
	for _, r := range env.Recipients {
		out = append(out, outbound.Result{Recipient: r, Reply: outbound.Reply{Code: 250}, Delivered: true})
	}
	return out
}

// One slow destination takes at most per_destination of the slots; other domains go ahead meanwhile.
func TestPerDestinationLimit(t *testing.T) {
	e := newEnv(t, fakeRouter{})
	gate := &gatedTransport{running: map[string]int{}, peak: map[string]int{}, release: make(chan struct{})}
	e.worker = New(Options{Store: e.st, Deliverer: e.d, Router: fakeRouter{}, Transport: gate, Hostname: "mail." + localDomain,
		Concurrency: 4, PerDestination: 1, Now: func() time.Time { return e.clock }})
	for range 3 {
		e.submit(t, "x@slow.gov.vn")
	}
	e.submit(t, "y@other.gov.vn")
	var wg sync.WaitGroup
	e.worker.dispatch(context.Background(), &wg, make(chan struct{}, 1))
	// Wait until both domains have a delivery in progress: the slow domain's others must queue behind the first.
	deadline := time.Now().Add(10 * time.Second)
	for {
		gate.mu.Lock()
		both := gate.running["slow.gov.vn"] == 1 && gate.running["other.gov.vn"] == 1
		gate.mu.Unlock()
		if both {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the two domains never had deliveries in progress at the same time")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(gate.release)
	wg.Wait()
	if gate.peak["slow.gov.vn"] != 1 || gate.total != 4 {
		t.Errorf("slow.gov.vn peaked at %d deliveries at once (want 1); %d deliveries in all (want 4)", gate.peak["slow.gov.vn"], gate.total)
	}
	if q, _ := e.st.QueuedMessages(); len(q) != 0 {
		t.Errorf("%d messages left in the queue", len(q))
	}
}
