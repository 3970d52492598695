package admin_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/store"
)

// enqueue queues a message from from ("" for a report of this server) to the remote recipients rcpts.
func enqueue(t *testing.T, st *store.Store, id, from string, rcpts ...string) store.QueuedMessage {
	t.Helper()
	body := "From: " + from + "\r\nSubject: Báo cáo tháng " + id + "\r\n\r\n" + strings.Repeat("Nội dung báo cáo.\r\n", 80)
	out := &store.Outbound{ID: id, From: from, Recipients: rcpts, Submitter: from,
		Trace: []byte("Received: by mail.vinhyen.gov.vn id " + id + "\r\n")}
	_, err := st.DeliverMessage(store.Delivery{Message: store.NewMessage{Body: []byte(body)}, Outbound: out})
	must(t, err)
	m, err := st.QueuedMessage(id)
	must(t, err)
	return m
}

// postpone records a failed attempt on every pending recipient and schedules the next one in an hour.
func postpone(t *testing.T, st *store.Store, id string) store.QueuedMessage {
	t.Helper()
	now := time.Now()
	m, err := st.UpdateQueued(id, func(m *store.QueuedMessage) error {
		for i := range m.Recipients {
			r := &m.Recipients[i]
			r.Code, r.Reply, r.RemoteMTA, r.Updated = "4.7.1", "451 4.7.1 Greylisted, try again later", "mx.bo-noi-vu.gov.vn", now
		}
		m.Attempts++
		m.LastAttempt, m.NextAttempt = now, now.Add(time.Hour)
		return nil
	})
	must(t, err)
	return m
}

// wantNow checks that t was set between before and now.
func wantNow(t *testing.T, what string, got, before time.Time) {
	t.Helper()
	if got.Before(before) || got.After(time.Now()) {
		t.Errorf("%s = %v, want now (after %v)", what, got, before)
	}
}

// drainSignal empties the store's queue signal, so that the next test of it sees only what follows.
func drainSignal(st *store.Store) {
	select {
	case <-st.QueueSignal():
	default:
	}
}

func wantSignal(t *testing.T, st *store.Store, what string) {
	t.Helper()
	select {
	case <-st.QueueSignal():
	default:
		t.Errorf("%s did not wake the queue worker", what)
	}
}

func TestListShowQueue(t *testing.T) {
	svc, st := newService(t)
	if list, err := svc.ListQueue(); err != nil || len(list) != 0 {
		t.Fatalf("ListQueue on an empty queue = %+v, %v", list, err)
	}
	q1 := enqueue(t, st, "Q1", "an.nv@vinhyen.gov.vn", "vanthu@bo-noi-vu.gov.vn", "chanh.vp@bo-noi-vu.gov.vn")
	enqueue(t, st, "Q2", "", "binh@phucyen.gov.vn")
	_, err := st.UpdateQueued("Q1", func(m *store.QueuedMessage) error {
		m.Recipients[0].Status, m.Recipients[0].Reply = store.RecipientDelivered, "250 2.0.0 OK"
		m.Recipients[1].Code, m.Recipients[1].Reply = "4.4.1", "connection refused"
		m.Recipients[1].RemoteMTA, m.Recipients[1].Updated = "mx.bo-noi-vu.gov.vn", q1.Created
		m.Attempts, m.LastAttempt, m.DelayWarned = 2, q1.Created, true
		return nil
	})
	must(t, err)

	list, err := svc.ListQueue()
	if err != nil || len(list) != 2 || list[0].ID != "Q1" || list[1].ID != "Q2" || list[1].From != "" {
		t.Fatalf("ListQueue = %+v, %v", list, err)
	}
	e, err := svc.ShowQueue(" Q1 ")
	must(t, err)
	if e.From != "an.nv@vinhyen.gov.vn" || e.Submitter != "an.nv@vinhyen.gov.vn" || !e.Created.Equal(q1.Created) ||
		e.Size != q1.Size() || e.Attempts != 2 || !e.LastAttempt.Equal(q1.Created) || !e.DelayWarned || e.BounceRequested {
		t.Errorf("ShowQueue = %+v", e)
	}
	want := []admin.QueueRecipient{
		{Address: "vanthu@bo-noi-vu.gov.vn", Status: "delivered", Reply: "250 2.0.0 OK"},
		{Address: "chanh.vp@bo-noi-vu.gov.vn", Status: "pending", Code: "4.4.1", Reply: "connection refused",
			RemoteMTA: "mx.bo-noi-vu.gov.vn", Updated: q1.Created},
	}
	if len(e.Recipients) != 2 || e.Recipients[0] != want[0] || !e.Recipients[1].Updated.Equal(want[1].Updated) {
		t.Fatalf("recipients %+v\nwant %+v", e.Recipients, want)
	}
	e.Recipients[1].Updated = want[1].Updated
	if e.Recipients[1] != want[1] {
		t.Errorf("recipient %+v\nwant %+v", e.Recipients[1], want[1])
	}
	if p := e.Pending(); len(p) != 1 || p[0].Address != "chanh.vp@bo-noi-vu.gov.vn" {
		t.Errorf("Pending = %+v", p)
	}
}

func TestRetryQueue(t *testing.T) {
	svc, st := newService(t)
	api := svc.As("hoa")
	enqueue(t, st, "Q1", "an.nv@vinhyen.gov.vn", "vanthu@bo-noi-vu.gov.vn", "chanh.vp@bo-noi-vu.gov.vn")
	enqueue(t, st, "Q2", "", "binh@phucyen.gov.vn")
	m := postpone(t, st, "Q1")
	postpone(t, st, "Q2")
	drainSignal(st)

	before := time.Now()
	n, err := api.RetryQueue("Q1")
	if err != nil || n != 1 {
		t.Fatalf("RetryQueue(Q1) = %d, %v", n, err)
	}
	wantSignal(t, st, "RetryQueue")
	q1, err := st.QueuedMessage("Q1")
	must(t, err)
	wantNow(t, "Q1's next attempt", q1.NextAttempt, before)
	if q1.Attempts != 1 || q1.Recipients[1].Reply != m.Recipients[1].Reply || q1.BounceRequested {
		t.Errorf("retry changed more than the next attempt: %+v", q1)
	}
	wantAudit(t, api, "queue.retry", "Q1",
		"from an.nv@vinhyen.gov.vn to vanthu@bo-noi-vu.gov.vn, chanh.vp@bo-noi-vu.gov.vn, "+admin.FormatSize(m.Size())+", 1 attempt(s)")
	if ids, _, err := st.DueMessages(time.Now(), 10); err != nil || len(ids) != 1 || ids[0] != "Q1" {
		t.Errorf("due after retrying Q1: %v, %v", ids, err)
	}

	before = time.Now()
	if n, err := api.RetryQueue(""); err != nil || n != 2 {
		t.Fatalf("RetryQueue(all) = %d, %v", n, err)
	}
	for _, id := range []string{"Q1", "Q2"} {
		m, err := st.QueuedMessage(id)
		must(t, err)
		wantNow(t, id+"'s next attempt", m.NextAttempt, before)
	}
	log, err := api.AuditLog(admin.AuditQuery{Limit: 2})
	if err != nil || len(log) != 2 || log[0].Target != "Q1" || log[1].Target != "Q2" ||
		!strings.HasPrefix(log[1].Detail, "from <> to binh@phucyen.gov.vn, ") {
		t.Errorf("audit of retrying all: %+v, %v", log, err)
	}
	must(t, st.RemoveQueued("Q1"))
	must(t, st.RemoveQueued("Q2"))
	if n, err := api.RetryQueue(""); err != nil || n != 0 {
		t.Errorf("RetryQueue(all) on an empty queue = %d, %v", n, err)
	}
}

func TestRemoveQueue(t *testing.T) {
	svc, st := newService(t)
	api := svc.As("hoa")
	m := enqueue(t, st, "Q1", "an.nv@vinhyen.gov.vn", "vanthu@bo-noi-vu.gov.vn")
	enqueue(t, st, "Q2", "an.nv@vinhyen.gov.vn", "binh@phucyen.gov.vn")
	stats, err := st.Stats()
	must(t, err)

	must(t, api.RemoveQueue("Q1"))
	if _, err := st.QueuedMessage("Q1"); !errors.Is(err, store.ErrQueueNotFound) {
		t.Errorf("Q1 after RemoveQueue: %v", err)
	}
	if after, _ := st.Stats(); after.Bodies != stats.Bodies-1 {
		t.Errorf("RemoveQueue kept the body: %d bodies, had %d", after.Bodies, stats.Bodies)
	}
	must(t, st.Check())
	wantAudit(t, api, "queue.remove", "Q1", "from an.nv@vinhyen.gov.vn to vanthu@bo-noi-vu.gov.vn, "+admin.FormatSize(m.Size())+", 0 attempt(s)")
	if list, err := api.ListQueue(); err != nil || len(list) != 1 || list[0].ID != "Q2" {
		t.Errorf("ListQueue after RemoveQueue = %+v, %v", list, err)
	}
	wantErr(t, api.RemoveQueue("Q1"), admin.ErrNotFound, "queued message Q1 does not exist: see 'mailserver queue list'")
}

func TestBounceQueue(t *testing.T) {
	svc, st := newService(t)
	api := svc.As("hoa")
	enqueue(t, st, "Q1", "an.nv@vinhyen.gov.vn", "vanthu@bo-noi-vu.gov.vn", "chanh.vp@bo-noi-vu.gov.vn")
	m := postpone(t, st, "Q1")
	drainSignal(st)

	before := time.Now()
	must(t, api.BounceQueue("Q1"))
	wantSignal(t, st, "BounceQueue")
	q1, err := st.QueuedMessage("Q1")
	must(t, err)
	if !q1.BounceRequested || len(q1.Pending()) != 2 {
		t.Errorf("after BounceQueue: %+v", q1)
	}
	wantNow(t, "next attempt after BounceQueue", q1.NextAttempt, before)
	wantAudit(t, api, "queue.bounce", "Q1",
		"from an.nv@vinhyen.gov.vn to vanthu@bo-noi-vu.gov.vn, chanh.vp@bo-noi-vu.gov.vn, "+admin.FormatSize(m.Size())+", 1 attempt(s)")
	if e, err := api.ShowQueue("Q1"); err != nil || !e.BounceRequested {
		t.Errorf("ShowQueue after BounceQueue = %+v, %v", e, err)
	}

	// A report has nobody to be bounced to.
	enqueue(t, st, "R1", "", "binh@phucyen.gov.vn")
	wantErr(t, api.BounceQueue("R1"), admin.ErrInvalid,
		"queued message R1 is itself a delivery report (its sender is <>), so nobody can be told: remove it with 'mailserver queue remove R1'")
	if r1, _ := st.QueuedMessage("R1"); r1.BounceRequested {
		t.Error("a refused bounce was recorded")
	}
	wantAudit(t, api, "queue.bounce", "Q1",
		"from an.nv@vinhyen.gov.vn to vanthu@bo-noi-vu.gov.vn, chanh.vp@bo-noi-vu.gov.vn, "+admin.FormatSize(m.Size())+", 1 attempt(s)")
}

func TestQueueErrors(t *testing.T) {
	svc, st := newService(t)
	api := svc.As("hoa")
	enqueue(t, st, "Q1", "an.nv@vinhyen.gov.vn", "vanthu@bo-noi-vu.gov.vn")
	const notFound = "queued message NOPE does not exist: see 'mailserver queue list'"
	wantErr(t, second(api.ShowQueue("NOPE")), admin.ErrNotFound, notFound)
	wantErr(t, second(api.RetryQueue("NOPE")), admin.ErrNotFound, notFound)
	wantErr(t, api.RemoveQueue("NOPE"), admin.ErrNotFound, notFound)
	wantErr(t, api.BounceQueue("NOPE"), admin.ErrNotFound, notFound)
	wantErr(t, second(api.ShowQueue("q1")), admin.ErrNotFound, // ids are exact
		"queued message q1 does not exist: see 'mailserver queue list'")

	invalid := map[string]string{
		" ":                     "queue id must not be empty: see 'mailserver queue list'",
		"Q 1":                   `invalid queue id "Q 1": see 'mailserver queue list'`,
		"Q1\x1b[31m":            `invalid queue id "Q1\x1b[31m": see 'mailserver queue list'`,
		"Qé":                    `invalid queue id "Qé": see 'mailserver queue list'`,
		strings.Repeat("Q", 65): "invalid queue id: longer than 64 characters (see 'mailserver queue list')",
		strings.Repeat("Q", 64): "queued message " + strings.Repeat("Q", 64) + " does not exist: see 'mailserver queue list'",
		"Q1\nX-Forged: yes\n":   `invalid queue id "Q1\nX-Forged: yes": see 'mailserver queue list'`,
	}
	for id, want := range invalid {
		kind := admin.ErrInvalid
		if strings.HasPrefix(want, "queued message") {
			kind = admin.ErrNotFound
		}
		wantErr(t, second(api.ShowQueue(id)), kind, want)
		wantErr(t, second(api.RetryQueue(id)), kind, want)
		wantErr(t, api.RemoveQueue(id), kind, want)
		wantErr(t, api.BounceQueue(id), kind, want)
	}
	if log, err := api.AuditLog(admin.AuditQuery{}); err != nil || len(log) != 0 {
		t.Errorf("failed operations were audited: %+v, %v", log, err)
	}
	if m, err := st.QueuedMessage("Q1"); err != nil || m.BounceRequested {
		t.Errorf("Q1 after failed operations: %+v, %v", m, err)
	}
}

// The running server's worker tells which messages it is attempting; entries say so, and the As copy used by the
// control socket keeps asking it.
func TestQueueEntriesInProgress(t *testing.T) {
	_, st := newService(t)
	svc := admin.New(st, admin.WithHasher(cheapHasher), admin.WithAttemptsInProgress(func(id string) bool { return id == "Q1" }))
	enqueue(t, st, "Q1", "an.nv@vinhyen.gov.vn", "vanthu@bo-noi-vu.gov.vn")
	enqueue(t, st, "Q2", "an.nv@vinhyen.gov.vn", "vanthu@bo-noi-vu.gov.vn")
	list, err := svc.As("root").ListQueue()
	must(t, err)
	if len(list) != 2 || !list[0].InProgress || list[1].InProgress {
		t.Fatalf("ListQueue = %+v; want Q1 in progress, Q2 not", list)
	}
	e, err := svc.ShowQueue("Q1")
	must(t, err)
	if !e.InProgress {
		t.Error("ShowQueue(Q1) does not say an attempt is under way")
	}
	if e, _ := admin.New(st).ShowQueue("Q1"); e.InProgress {
		t.Error("without a running worker an entry says an attempt is under way")
	}
}
