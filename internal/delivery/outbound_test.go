package delivery

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"mailserver/internal/store"
)

// A submission to a colleague and to two addresses in another agency stores the local copy and queues the remote
// recipients in one transaction, with the body stored once.
func TestCommitQueuesRemoteRecipients(t *testing.T) {
	st := newTestStore(t)
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	ctx := context.Background()
	tx := d.Begin(ctx, Envelope{From: "an@hanoi.gov.vn", Authenticated: "an@hanoi.gov.vn", Submission: true})
	for _, rcpt := range []string{"binh@hanoi.gov.vn", "Lan@Other.gov.vn", "minh@other.gov.vn", "Lan@OTHER.gov.vn", "hoa@bộ-nội-vụ.vn"} {
		if err := tx.AddRecipient(ctx, rcpt); err != nil {
			t.Fatalf("AddRecipient(%s): %v", rcpt, err)
		}
	}
	body := "From: an@hanoi.gov.vn\r\nTo: lan@other.gov.vn\r\nSubject: Báo cáo\r\n\r\nNội dung.\r\n"
	res, err := tx.Commit(ctx, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Lan@other.gov.vn", "minh@other.gov.vn", "hoa@xn--b-ni-v-3n8bc5i.vn"}; strings.Join(res.Queued, ",") != strings.Join(want, ",") {
		t.Errorf("queued %v, want %v (domain lower-cased and in ASCII, local part kept, duplicates once)", res.Queued, want)
	}
	q, err := st.QueuedMessage(res.ID)
	if err != nil {
		t.Fatalf("queue entry for %s: %v", res.ID, err)
	}
	if q.From != "an@hanoi.gov.vn" || q.Submitter != "an@hanoi.gov.vn" || len(q.Pending()) != 3 {
		t.Errorf("queued message = %+v", q)
	}
	sent, err := st.QueuedBody(res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sent, []byte("Received: from ")) || !bytes.HasSuffix(sent, []byte(body)) {
		t.Errorf("queued bytes = %q, want a Received line then the body as sent", sent)
	}
	if bytes.Contains(sent[:len(sent)-len(body)], []byte("for <")) {
		t.Errorf("the outbound Received line names a recipient: %q", sent[:len(sent)-len(body)])
	}
	stats, err := st.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if stats.Bodies != 1 || stats.BodyRefs != 2 { // one local copy, one queue entry for the three remote recipients
		t.Errorf("bodies %d refs %d, want one body referenced by the local copy and the queue", stats.Bodies, stats.BodyRefs)
	}
	if got := len(inbox(t, st, "binh@hanoi.gov.vn")); got != 1 {
		t.Errorf("binh has %d messages, want 1", got)
	}
}

func TestMXRefusesMailLoop(t *testing.T) {
	st := newTestStore(t)
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	ctx := context.Background()
	tx := d.Begin(ctx, mxEnvelope())
	if err := tx.AddRecipient(ctx, "an@hanoi.gov.vn"); err != nil {
		t.Fatal(err)
	}
	looped := strings.Repeat("Received: from x by y; Mon, 2 Jan 2006 15:04:05 +0700\r\n", 101) + testBody
	if _, err := tx.Commit(ctx, []byte(looped)); !errors.Is(err, ErrMailLoop) {
		t.Fatalf("Commit with 101 Received lines = %v, want ErrMailLoop", err)
	}
	if n := len(inbox(t, st, "an@hanoi.gov.vn")); n != 0 {
		t.Errorf("a looping message was stored (%d)", n)
	}
}

// Reports this server writes go to local senders at once and to remote ones through the queue, from the null sender.
func TestReport(t *testing.T) {
	st := newTestStore(t)
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	ctx := context.Background()
	report := []byte("From: MAILER-DAEMON@mail.hanoi.gov.vn\r\nSubject: Undelivered\r\n\r\nx\r\n")
	if _, err := d.Report(ctx, nil, "an@hanoi.gov.vn", report); err != nil {
		t.Fatal(err)
	}
	msgs := inbox(t, st, "an@hanoi.gov.vn")
	if len(msgs) != 1 || !strings.HasPrefix(fullMessage(t, st, msgs[0]), "Return-Path: <>\r\nDelivered-To: an@hanoi.gov.vn\r\nReceived: by mail.hanoi.gov.vn id ") {
		t.Fatalf("report copy = %v", msgs)
	}
	res, err := d.Report(ctx, nil, "someone@other.gov.vn", report)
	if err != nil {
		t.Fatal(err)
	}
	q, err := st.QueuedMessage(res.ID)
	if err != nil || q.From != "" {
		t.Fatalf("queued report = %+v, %v; want one from the null sender", q, err)
	}
	if _, err := d.Report(ctx, nil, "nobody@hanoi.gov.vn", report); !errors.Is(err, ErrUnknownRecipient) {
		t.Errorf("report to an unknown local address = %v, want ErrUnknownRecipient", err)
	}
}

// The inbound checks' verdict travels with every local copy; a quarantined message lands in Junk.
func TestVerdict(t *testing.T) {
	st := newTestStore(t)
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	ctx := context.Background()
	tx := d.Begin(ctx, mxEnvelope())
	if err := tx.AddRecipient(ctx, "an@hanoi.gov.vn"); err != nil {
		t.Fatal(err)
	}
	results := "Authentication-Results: mail.hanoi.gov.vn;\r\n\tdmarc=fail header.from=hanoi.gov.vn\r\n"
	tx.SetVerdict(results, true)
	if _, err := tx.Commit(ctx, []byte(testBody)); err != nil {
		t.Fatal(err)
	}
	if n := len(inbox(t, st, "an@hanoi.gov.vn")); n != 0 {
		t.Errorf("a quarantined message reached INBOX (%d)", n)
	}
	a, _ := st.Account("an@hanoi.gov.vn")
	junk, err := st.Mailbox(a.ID, "Junk")
	if err != nil {
		t.Fatal(err)
	}
	uids, _ := st.UIDs(junk.ID)
	msgs, err := st.Messages(junk.ID, uids, store.FetchOptions{})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Junk holds %d messages, %v; want 1", len(msgs), err)
	}
	trace := string(msgs[0].Trace)
	if !strings.Contains(trace, "Delivered-To: an@hanoi.gov.vn\r\n"+results+"Received: from ") {
		t.Errorf("trace %q: want Authentication-Results between Delivered-To and Received", trace)
	}
}
