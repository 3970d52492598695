package ctl_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
	"mailserver/internal/store"
)

// enqueue queues a message from from ("" for a report) to the remote recipients rcpts.
func enqueue(t *testing.T, st *store.Store, id, from string, rcpts ...string) {
	t.Helper()
	body := "From: " + from + "\r\nSubject: Báo cáo " + id + "\r\n\r\nNội dung báo cáo.\r\n"
	out := &store.Outbound{ID: id, From: from, Recipients: rcpts, Trace: []byte("Received: by mail.vinhyen.gov.vn id " + id + "\r\n")}
	_, err := st.DeliverMessage(store.Delivery{Message: store.NewMessage{Body: []byte(body)}, Outbound: out})
	must(t, err)
}

// TestQueueRoundTrip runs every queue operation through the socket, as OS user "hoa", and checks its effect in
// the store and its audit record.
func TestQueueRoundTrip(t *testing.T) {
	ts := newTestServer(t)
	c := ts.dial(t).As("hoa")
	if list, err := ctl.Call(c, ctl.QueueList, ctl.None{}); err != nil || len(list) != 0 {
		t.Fatalf("ListQueue on an empty queue = %+v, %v", list, err)
	}
	enqueue(t, ts.store, "Q1", "an.nv@vinhyen.gov.vn", "vanthu@bo-noi-vu.gov.vn", "chanh.vp@bo-noi-vu.gov.vn")
	enqueue(t, ts.store, "Q2", "", "binh@phucyen.gov.vn")
	enqueue(t, ts.store, "Q3", "an.nv@vinhyen.gov.vn", "binh@phucyen.gov.vn")
	later := time.Now().Add(time.Hour)
	for _, id := range []string{"Q1", "Q2", "Q3"} {
		_, err := ts.store.UpdateQueued(id, func(m *store.QueuedMessage) error {
			if len(m.Recipients) > 1 { // a message must keep a pending recipient to stay queued
				m.Recipients[0].Status = store.RecipientFailed
			}
			m.Recipients[0].Code, m.Recipients[0].Reply = "5.1.1", "550 5.1.1 no such user"
			m.Recipients[0].RemoteMTA, m.Recipients[0].Updated = "mx.bo-noi-vu.gov.vn", later.Add(-time.Hour)
			m.Attempts, m.LastAttempt, m.NextAttempt = 1, later.Add(-time.Hour), later
			return nil
		})
		must(t, err)
	}
	want, err := ts.store.QueuedMessage("Q1")
	must(t, err)

	list, err := ctl.Call(c, ctl.QueueList, ctl.None{})
	if err != nil || len(list) != 3 || list[0].ID != "Q1" || list[1].From != "" || list[2].ID != "Q3" {
		t.Fatalf("ListQueue = %+v, %v", list, err)
	}
	e, err := ctl.Call(c, ctl.QueueShow, ctl.QueueArgs{ID: "Q1"})
	must(t, err)
	if e.From != "an.nv@vinhyen.gov.vn" || e.Size != want.Size() || !e.Created.Equal(want.Created) ||
		!e.NextAttempt.Equal(later) || !e.LastAttempt.Equal(want.LastAttempt) || e.Attempts != 1 || len(e.Recipients) != 2 {
		t.Errorf("ShowQueue = %+v", e)
	}
	r := e.Recipients[0]
	if r.Address != "vanthu@bo-noi-vu.gov.vn" || r.Status != "failed" || r.Code != "5.1.1" || r.Reply != "550 5.1.1 no such user" ||
		r.RemoteMTA != "mx.bo-noi-vu.gov.vn" || !r.Updated.Equal(want.LastAttempt) {
		t.Errorf("recipient %+v", r)
	}
	if p := e.Pending(); len(p) != 1 || p[0].Address != "chanh.vp@bo-noi-vu.gov.vn" || !p[0].Updated.IsZero() {
		t.Errorf("pending %+v", p)
	}

	wantAudit := func(action, target string) {
		t.Helper()
		log, err := ctl.Call(c, ctl.Audit, admin.AuditQuery{Limit: 1})
		if err != nil || len(log) != 1 || log[0].Action != action || log[0].Target != target || log[0].Actor != "admin:hoa" ||
			log[0].From != "cli" || !strings.HasPrefix(log[0].Detail, "from ") {
			t.Errorf("audit %+v, %v\nwant %s %s by admin:hoa from cli", log, err, action, target)
		}
	}
	before := time.Now()
	if n, err := ctl.Call(c, ctl.QueueRetry, ctl.QueueArgs{ID: "Q1"}); err != nil || n != 1 {
		t.Fatalf("RetryQueue(Q1) = %d, %v", n, err)
	}
	if m, _ := ts.store.QueuedMessage("Q1"); m.NextAttempt.Before(before) || m.NextAttempt.After(time.Now()) {
		t.Errorf("next attempt after RetryQueue: %v", m.NextAttempt)
	}
	wantAudit("queue.retry", "Q1")
	if n, err := ctl.Call(c, ctl.QueueRetry, ctl.QueueArgs{ID: ""}); err != nil || n != 3 {
		t.Errorf("RetryQueue(all) = %d, %v", n, err)
	}
	if ids, _, _ := ts.store.DueMessages(time.Now(), 10); len(ids) != 3 {
		t.Errorf("due after retrying all: %v", ids)
	}

	must(t, ctl.Do(c, ctl.QueueBounce, ctl.QueueArgs{ID: "Q3"}))
	if m, _ := ts.store.QueuedMessage("Q3"); !m.BounceRequested {
		t.Errorf("after BounceQueue: %+v", m)
	}
	wantAudit("queue.bounce", "Q3")
	must(t, ctl.Do(c, ctl.QueueRemove, ctl.QueueArgs{ID: "Q2"}))
	if _, err := ts.store.QueuedMessage("Q2"); !errors.Is(err, store.ErrQueueNotFound) {
		t.Errorf("Q2 after RemoveQueue: %v", err)
	}
	wantAudit("queue.remove", "Q2")
	must(t, ts.store.Check())
	for _, op := range []string{"queue.list", "queue.show", "queue.retry", "queue.bounce", "queue.remove"} {
		if logs := ts.logs.String(); !strings.Contains(logs, "op="+op+" ") {
			t.Errorf("operation log does not name %s:\n%s", op, logs)
		}
	}
}

// TestQueueErrorsPreserved checks that the queue operations' errors keep text and kind across the socket.
func TestQueueErrorsPreserved(t *testing.T) {
	ts := newTestServer(t)
	c := ts.dial(t)
	enqueue(t, ts.store, "R1", "", "binh@phucyen.gov.vn")
	direct := admin.New(ts.store)
	tests := []struct {
		name          string
		remote, local error
		kind          error
	}{
		{"show unknown", second(ctl.Call(c, ctl.QueueShow, ctl.QueueArgs{ID: "NOPE"})), second(direct.ShowQueue("NOPE")), admin.ErrNotFound},
		{"retry unknown", second(ctl.Call(c, ctl.QueueRetry, ctl.QueueArgs{ID: "NOPE"})), second(direct.RetryQueue("NOPE")), admin.ErrNotFound},
		{"remove unknown", ctl.Do(c, ctl.QueueRemove, ctl.QueueArgs{ID: "NOPE"}), direct.RemoveQueue("NOPE"), admin.ErrNotFound},
		{"bounce unknown", ctl.Do(c, ctl.QueueBounce, ctl.QueueArgs{ID: "NOPE"}), direct.BounceQueue("NOPE"), admin.ErrNotFound},
		{"bounce a report", ctl.Do(c, ctl.QueueBounce, ctl.QueueArgs{ID: "R1"}), direct.BounceQueue("R1"), admin.ErrInvalid},
		{"empty id", second(ctl.Call(c, ctl.QueueShow, ctl.QueueArgs{ID: ""})), second(direct.ShowQueue("")), admin.ErrInvalid},
		{"bad id", ctl.Do(c, ctl.QueueRemove, ctl.QueueArgs{ID: "Q 1"}), direct.RemoveQueue("Q 1"), admin.ErrInvalid},
	}
	for _, tt := range tests {
		if tt.remote == nil || tt.local == nil {
			t.Errorf("%s: remote %v, local %v", tt.name, tt.remote, tt.local)
			continue
		}
		if tt.remote.Error() != tt.local.Error() {
			t.Errorf("%s: remote error %q, want %q", tt.name, tt.remote, tt.local)
		}
		if !errors.Is(tt.remote, tt.kind) {
			t.Errorf("%s: remote error %q lost its kind %v", tt.name, tt.remote, tt.kind)
		}
	}

	// On the wire: queue.retry without an id retries everything; an unknown field is refused.
	got := rawCall(t, ts.path, `{"op":"queue.retry","args":{}}`, `{"op":"queue.remove","args":{"id":"R1","force":true}}`)
	if got[0] != `{"ok":true,"result":1}` ||
		!strings.HasPrefix(got[1], `{"ok":false,"error":"malformed request: json: unknown field \"force\""`) {
		t.Errorf("responses %q", got)
	}
}
