package main

import (
	"strings"
	"testing"
	"time"

	"mailserver/internal/store"
)

// The queue fillQueue makes; ids as the server makes them.
const (
	queueReport = "K7Q2M4XWZP3A" // an.nv's report to two people at bo-noi-vu.gov.vn, tried four times
	queueBounce = "9F3KD72LQ0ZB" // a delivery report (null sender), not tried yet
	greylisted  = "451 4.7.1 Greylisted: please try again later, see https://mx.bo-noi-vu.gov.vn/greylisting.html"
)

// fillQueue queues the two messages above in st, their times relative to now: the report is 2h13m30s old, its last
// attempt 4m30s ago, its next in 4m30s; the delivery report is 5m30s old and due a minute ago. The half minutes
// keep the ages printed stable while the test runs.
func fillQueue(t *testing.T, st *store.Store, now time.Time) {
	t.Helper()
	queue := func(id, from string, rcpts ...string) {
		body := "From: " + from + "\r\nSubject: Báo cáo tháng 11\r\n\r\n" + strings.Repeat("Nội dung báo cáo.\r\n", 60)
		out := &store.Outbound{ID: id, From: from, Submitter: from, Recipients: rcpts,
			Trace: []byte("Received: by mail.vinhyen.gov.vn id " + id + "\r\n")}
		if _, err := st.DeliverMessage(store.Delivery{Message: store.NewMessage{Body: []byte(body)}, Outbound: out}); err != nil {
			t.Fatal(err)
		}
	}
	update := func(id string, fn func(m *store.QueuedMessage)) {
		if _, err := st.UpdateQueued(id, func(m *store.QueuedMessage) error { fn(m); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	queue(queueReport, userAn, "vanthu@bo-noi-vu.gov.vn", "chanh.vp@bo-noi-vu.gov.vn")
	queue(queueBounce, "", "binh@phucyen.gov.vn")
	last := now.Add(-4*time.Minute - 30*time.Second)
	update(queueReport, func(m *store.QueuedMessage) {
		m.Created = now.Add(-2*time.Hour - 13*time.Minute - 30*time.Second)
		m.Recipients[0] = store.QueueRecipient{Address: m.Recipients[0].Address, Status: store.RecipientDelivered,
			Code: "2.0.0", Reply: "250 2.0.0 Ok: queued as 4XyZ", RemoteMTA: "mx.bo-noi-vu.gov.vn", Updated: last}
		m.Recipients[1] = store.QueueRecipient{Address: m.Recipients[1].Address, Code: "4.7.1", Reply: greylisted,
			RemoteMTA: "mx.bo-noi-vu.gov.vn", Updated: last}
		m.Attempts, m.LastAttempt, m.NextAttempt = 4, last, now.Add(4*time.Minute+30*time.Second)
	})
	update(queueBounce, func(m *store.QueuedMessage) {
		m.Created, m.NextAttempt = now.Add(-5*time.Minute-30*time.Second), now.Add(-time.Minute)
	})
}

// queued reads a queued message straight from e's store.
func (e *env) queued(id string) store.QueuedMessage {
	e.t.Helper()
	var m store.QueuedMessage
	e.withStore(func(st *store.Store) {
		var err error
		if m, err = st.QueuedMessage(id); err != nil {
			e.t.Fatal(err)
		}
	})
	return m
}

// wantDueNow checks that a queued message's next attempt was set between before and now.
func wantDueNow(t *testing.T, m store.QueuedMessage, before time.Time) {
	t.Helper()
	if m.NextAttempt.Before(before) || m.NextAttempt.After(time.Now()) {
		t.Errorf("%s: next attempt %v, want now (after %v)", m.ID, m.NextAttempt, before)
	}
}

func rfc3339(t time.Time) string { return t.Local().Format(time.RFC3339) }

func TestQueueCommands(t *testing.T) {
	e := newEnv(t)
	wantOut(t, "queue list on an empty queue", e.ok("", "queue", "list"), "The queue is empty.\n")
	now := time.Now()
	e.withStore(func(st *store.Store) { fillQueue(t, st, now) })
	report := e.queued(queueReport)

	wantOut(t, "queue list", e.ok("", "queue", "list"), ""+
		"ID            AGE    SIZE   FROM                  ATTEMPTS  NEXT\n"+
		"K7Q2M4XWZP3A  2h13m  1.5KB  an.nv@vinhyen.gov.vn  4         in 4m\n"+
		"  to chanh.vp@bo-noi-vu.gov.vn: 451 4.7.1 Greylisted: please try again later, see https:/...\n"+
		"9F3KD72LQ0ZB  5m     1.4KB  <>                    0         now\n"+
		"  to binh@phucyen.gov.vn: not tried yet\n")
	wantOut(t, "queue show", e.ok("", "queue", "show", queueReport), ""+
		"id:             K7Q2M4XWZP3A\n"+
		"from:           an.nv@vinhyen.gov.vn\n"+
		"submitter:      an.nv@vinhyen.gov.vn\n"+
		"created:        "+rfc3339(report.Created)+" (2h13m ago)\n"+
		"size:           1.5KB\n"+
		"attempts:       4\n"+
		"last attempt:   "+rfc3339(report.LastAttempt)+" (4m ago)\n"+
		"next attempt:   "+rfc3339(report.NextAttempt)+" (in 4m)\n"+
		"delay warning:  not sent\n"+
		"bounce:         not requested\n"+
		"recipients:     2 (1 pending)\n"+
		"  vanthu@bo-noi-vu.gov.vn\n"+
		"    status:         delivered\n"+
		"    code:           2.0.0\n"+
		"    reply:          250 2.0.0 Ok: queued as 4XyZ\n"+
		"    remote server:  mx.bo-noi-vu.gov.vn\n"+
		"    last attempt:   "+rfc3339(report.LastAttempt)+" (4m ago)\n"+
		"  chanh.vp@bo-noi-vu.gov.vn\n"+
		"    status:         pending\n"+
		"    code:           4.7.1\n"+
		"    reply:          "+greylisted+"\n"+
		"    remote server:  mx.bo-noi-vu.gov.vn\n"+
		"    last attempt:   "+rfc3339(report.LastAttempt)+" (4m ago)\n")
	if out := e.ok("", "queue", "show", queueBounce); !strings.Contains(out, "from:           <>\nsubmitter:      -\n") ||
		!strings.Contains(out, "last attempt:   never\n") || !strings.Contains(out, "(now)\n") ||
		!strings.Contains(out, "  binh@phucyen.gov.vn\n    status:         pending\n    code:           -\n") {
		t.Errorf("queue show of a report:\n%s", out)
	}

	// On a stopped server the retry waits for its start, and says so.
	before := time.Now()
	wantOut(t, "queue retry", e.ok("", "queue", "retry", queueReport),
		"Retrying 1 message(s) when the server starts: it is not running.\n")
	wantDueNow(t, e.queued(queueReport), before)
	e.wantAudit("queue.retry", queueReport, "from an.nv@vinhyen.gov.vn to chanh.vp@bo-noi-vu.gov.vn, 1.5KB, 4 attempt(s)")
	before = time.Now()
	wantOut(t, "queue retry --all", e.ok("", "queue", "retry", "--all"),
		"Retrying 2 message(s) when the server starts: it is not running.\n")
	wantDueNow(t, e.queued(queueReport), before)
	wantDueNow(t, e.queued(queueBounce), before)
	e.wantAudit("queue.retry", queueBounce, "from <> to binh@phucyen.gov.vn, 1.4KB, 0 attempt(s)")

	e.fails(2, "missing ID (or --all for every queued message) (see 'mailserver queue retry --help')", "", "queue", "retry")
	e.fails(2, "give either ID or --all, not both (see 'mailserver queue retry --help')", "", "queue", "retry", queueReport, "--all")
	e.fails(2, `unexpected argument "`+queueBounce+`" (see 'mailserver queue retry --help')`, "",
		"queue", "retry", queueReport, queueBounce)
	e.fails(2, "missing ID (see 'mailserver queue show --help')", "", "queue", "show")
	const unknown = "queued message NOPE does not exist: see 'mailserver queue list'"
	for _, op := range []string{"show", "retry", "remove", "bounce"} {
		e.fails(1, unknown, "", "queue", op, "NOPE")
	}
	e.fails(1, `invalid queue id "K7Q2 M4": see 'mailserver queue list'`, "", "queue", "show", "K7Q2 M4")

	wantOut(t, "queue bounce", e.ok("", "queue", "bounce", queueReport),
		"Bouncing message K7Q2M4XWZP3A when the server starts (it is not running): its sender an.nv@vinhyen.gov.vn will get a bounce for its 1 pending recipient(s).\n")
	if m := e.queued(queueReport); !m.BounceRequested || len(m.Pending()) != 1 {
		t.Errorf("after queue bounce: %+v", m)
	}
	e.wantAudit("queue.bounce", queueReport, "from an.nv@vinhyen.gov.vn to chanh.vp@bo-noi-vu.gov.vn, 1.5KB, 4 attempt(s)")
	if out := e.ok("", "queue", "list"); !strings.Contains(out, "K7Q2M4XWZP3A  2h13m  1.5KB  an.nv@vinhyen.gov.vn  4         bouncing\n") {
		t.Errorf("queue list after bounce:\n%s", out)
	}
	if out := e.ok("", "queue", "show", queueReport); !strings.Contains(out, "bounce:         requested: the sender gets a report at the next attempt\n") {
		t.Errorf("queue show after bounce:\n%s", out)
	}
	e.fails(1, "queued message 9F3KD72LQ0ZB is itself a delivery report (its sender is <>), so nobody can be told: remove it with 'mailserver queue remove 9F3KD72LQ0ZB'",
		"", "queue", "bounce", queueBounce)

	wantOut(t, "queue remove", e.ok("", "queue", "remove", queueBounce),
		"Removed message 9F3KD72LQ0ZB from <> (1.4KB) without delivering it to its 1 pending recipient(s); the sender was not told.\n")
	e.wantAudit("queue.remove", queueBounce, "from <> to binh@phucyen.gov.vn, 1.4KB, 0 attempt(s)")
	e.fails(1, "queued message 9F3KD72LQ0ZB does not exist: see 'mailserver queue list'", "", "queue", "remove", queueBounce)
	e.ok("", "queue", "remove", queueReport)
	wantOut(t, "queue list after removing all", e.ok("", "queue", "list"), "The queue is empty.\n")
	wantOut(t, "check after removing", e.ok("", "check"), "store is consistent\n") // the bodies went with them
}

// TestQueueThroughControlSocket runs the queue commands against a running server's control socket: retries and
// bounces happen now.
func TestQueueThroughControlSocket(t *testing.T) {
	e := newEnv(t)
	st := e.startControl(t)
	fillQueue(t, st, time.Now())
	if out := e.ok("", "queue", "list"); !strings.Contains(out, "K7Q2M4XWZP3A  2h13m  1.5KB  an.nv@vinhyen.gov.vn  4         in 4m\n") ||
		!strings.Contains(out, "  to binh@phucyen.gov.vn: not tried yet\n") {
		t.Errorf("queue list through the socket:\n%s", out)
	}
	if out := e.ok("", "queue", "show", queueReport); !strings.Contains(out, "    reply:          "+greylisted+"\n") {
		t.Errorf("queue show through the socket:\n%s", out)
	}
	before := time.Now()
	wantOut(t, "queue retry --all", e.ok("", "queue", "retry", "--all"), "Retrying 2 message(s) now.\n")
	for _, id := range []string{queueReport, queueBounce} {
		m, err := st.QueuedMessage(id)
		if err != nil {
			t.Fatal(err)
		}
		wantDueNow(t, m, before)
	}
	wantOut(t, "queue retry", e.ok("", "queue", "retry", queueBounce), "Retrying 1 message(s) now.\n")
	wantOut(t, "queue bounce", e.ok("", "queue", "bounce", queueReport),
		"Bouncing message K7Q2M4XWZP3A now: its sender an.nv@vinhyen.gov.vn will get a bounce for its 1 pending recipient(s).\n")
	if m, err := st.QueuedMessage(queueReport); err != nil || !m.BounceRequested {
		t.Errorf("after queue bounce through the socket: %+v, %v", m, err)
	}
	e.fails(1, "queued message NOPE does not exist: see 'mailserver queue list'", "", "queue", "bounce", "NOPE")
	e.fails(2, "missing ID (or --all for every queued message) (see 'mailserver queue retry --help')", "", "queue", "retry")
	wantOut(t, "queue remove", e.ok("", "queue", "remove", queueBounce),
		"Removed message 9F3KD72LQ0ZB from <> (1.4KB) without delivering it to its 1 pending recipient(s); the sender was not told.\n")
	if _, err := st.QueuedMessage(queueBounce); err == nil {
		t.Error("queue remove through the socket left the message")
	}
	log, err := st.AuditLog(store.AuditFilter{})
	if err != nil || len(log) != 5 {
		t.Fatalf("audit log: %+v, %v", log, err)
	}
	var actions []string
	for _, r := range log {
		actions = append(actions, r.Action)
		if r.Actor != "admin:"+osUser() || r.From != "cli" {
			t.Errorf("audit record through the socket: %+v", r)
		}
	}
	if got := strings.Join(actions, " "); got != "queue.retry queue.retry queue.retry queue.bounce queue.remove" {
		t.Errorf("audit actions: %s", got)
	}
	if err := st.Check(); err != nil {
		t.Error(err)
	}
}
