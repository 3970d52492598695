package delivery

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailserver/internal/store"
)

const domain = "hanoi.gov.vn"

// newTestStore returns a store with the domain and the accounts an@, binh@ and chi@, checked for integrity when the
// test ends.
func newTestStore(t *testing.T) *store.Store {
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
	if err := st.AddDomain(domain); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"an", "binh", "chi"} {
		if _, err := st.AddAccount(store.Account{Address: name + "@" + domain}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func mxEnvelope() Envelope {
	return Envelope{From: "sender@other.example", RemoteAddr: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 4000},
		HeloName: "mx.other.example"}
}

// inbox returns the full stored messages (trace + body) in an account's INBOX.
func inbox(t *testing.T, st *store.Store, address string) []store.Message {
	t.Helper()
	a, err := st.Account(address)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.Mailbox(a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	uids, err := st.UIDs(mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := st.Messages(mb.ID, uids, store.FetchOptions{Meta: true, Text: true})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func fullMessage(t *testing.T, st *store.Store, m store.Message) string {
	t.Helper()
	body, err := io.ReadAll(io.NewSectionReader(st.Body(m.Body, m.BodySize), 0, m.BodySize))
	if err != nil {
		t.Fatal(err)
	}
	return string(m.Trace) + string(body)
}

const testBody = "From: sender@other.example\r\nTo: an@hanoi.gov.vn\r\nSubject: Hello\r\n\r\nBody text.\r\n"

func TestCommitTwoRecipientsOneBody(t *testing.T) {
	st := newTestStore(t)
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	ctx := context.Background()
	tx := d.Begin(ctx, mxEnvelope())
	for _, r := range []string{"an@hanoi.gov.vn", "Binh@Hanoi.gov.vn"} {
		if err := tx.AddRecipient(ctx, r); err != nil {
			t.Fatalf("AddRecipient(%s): %v", r, err)
		}
	}
	res, err := tx.Commit(ctx, []byte(testBody))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Recipients) != 2 || res.Recipients[0].UID != 1 || res.Recipients[1].UID != 1 {
		t.Fatalf("result %+v", res)
	}
	an, binh := inbox(t, st, "an@"+domain), inbox(t, st, "binh@"+domain)
	if len(an) != 1 || len(binh) != 1 {
		t.Fatalf("inboxes hold %d and %d messages, want 1 each", len(an), len(binh))
	}
	if an[0].Body != binh[0].Body {
		t.Error("the body was stored twice")
	}
	full := fullMessage(t, st, binh[0])
	if !strings.HasSuffix(full, testBody) {
		t.Errorf("stored message does not end with the original bytes:\n%s", full)
	}
	if !strings.Contains(full, "Delivered-To: binh@hanoi.gov.vn\r\n") || !strings.Contains(full, "for <Binh@Hanoi.gov.vn>;") {
		t.Errorf("trace does not name the recipient:\n%s", full)
	}
	if len(an[0].Meta) == 0 || !strings.Contains(string(an[0].Text), "hello") {
		t.Errorf("meta (%d bytes) or search text %q missing", len(an[0].Meta), an[0].Text)
	}
}

func TestTraceFormat(t *testing.T) {
	st := newTestStore(t)
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	d.now = func() time.Time { return time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("ICT", 7*3600)) }
	env := Envelope{From: "an@hanoi.gov.vn", RemoteAddr: &net.TCPAddr{IP: net.ParseIP("2001:db8::1")},
		HeloName: "laptop (evil)\r", Authenticated: "an@hanoi.gov.vn", TLS: true, Submission: true}
	tx := d.Begin(context.Background(), env)
	if err := tx.AddRecipient(context.Background(), "chi@hanoi.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(context.Background(), []byte("From: an@hanoi.gov.vn\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	got := string(inbox(t, st, "chi@"+domain)[0].Trace)
	want := "Return-Path: <an@hanoi.gov.vn>\r\n" +
		"Delivered-To: chi@hanoi.gov.vn\r\n" +
		"Received: from laptop??evil?? ([IPv6:2001:db8::1])\r\n" +
		"\tby mail.hanoi.gov.vn with ESMTPSA id " + tx.ID() + "\r\n" +
		"\tfor <chi@hanoi.gov.vn>; Tue, 04 Mar 2025 05:06:07 +0700\r\n"
	if got != want {
		t.Errorf("trace\n%q\nwant\n%q", got, want)
	}
	if !regexp.MustCompile(`^[A-Z2-7]{12}$`).MatchString(tx.ID()) {
		t.Errorf("transaction id %q", tx.ID())
	}
}

func TestAddRecipientErrors(t *testing.T) {
	st := newTestStore(t)
	if _, err := st.UpdateAccount("chi@"+domain, func(a *store.Account) error { a.Quota = 1000; return nil }); err != nil {
		t.Fatal(err)
	}
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	ctx := context.Background()
	sub := Envelope{From: "an@hanoi.gov.vn", Authenticated: "an@hanoi.gov.vn", Submission: true}
	big := mxEnvelope()
	big.Size = 2000
	tests := []struct {
		env  Envelope
		rcpt string
		want error
	}{
		{mxEnvelope(), "no-at-sign", ErrBadAddress},
		{mxEnvelope(), "@hanoi.gov.vn", ErrBadAddress},
		{mxEnvelope(), "x@other.example", ErrRelayDenied},
		{sub, "x@other.example", nil}, // queued for the outbound gateway
		{sub, "x@bad_domain.example", ErrBadAddress},
		{sub, "x@-dash.example", ErrBadAddress},
		// An all-numeric top-level label is an IP address posing as a domain (RFC 1123 2.1); at RCPT the
		// submission server answers ErrBadAddress with 501 5.1.3.
		{sub, "x@127.0.0.1", ErrBadAddress},
		{sub, "x@10.1", ErrBadAddress},
		{sub, "x@mail.123", ErrBadAddress},
		{sub, "x@163.example", nil}, // digits elsewhere are fine
		{mxEnvelope(), "nobody@hanoi.gov.vn", ErrUnknownRecipient},
		{mxEnvelope(), "bad..dots@hanoi.gov.vn", ErrUnknownRecipient},
		{big, "chi@hanoi.gov.vn", ErrOverQuota},
		{mxEnvelope(), "chi@hanoi.gov.vn", nil}, // size unknown, account not full yet
	}
	for _, tt := range tests {
		err := d.Begin(ctx, tt.env).AddRecipient(ctx, tt.rcpt)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("AddRecipient(%q) = %v, want %v", tt.rcpt, err, tt.want)
		}
	}
	if !errors.Is(ErrRelayDenied, ErrNotLocal) {
		t.Error("the relay error must match ErrNotLocal")
	}
}

func TestOverQuotaWhenFull(t *testing.T) {
	st := newTestStore(t)
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	ctx := context.Background()
	deliver(t, d, "chi@"+domain)
	used := inboxUsed(t, st, "chi@"+domain)
	if _, err := st.UpdateAccount("chi@"+domain, func(a *store.Account) error { a.Quota = used; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := d.Begin(ctx, mxEnvelope()).AddRecipient(ctx, "chi@"+domain); !errors.Is(err, ErrOverQuota) {
		t.Errorf("full account: %v, want ErrOverQuota", err)
	}
}

func inboxUsed(t *testing.T, st *store.Store, address string) int64 {
	t.Helper()
	a, err := st.Account(address)
	if err != nil {
		t.Fatal(err)
	}
	return a.Used
}

func deliver(t *testing.T, d *Deliverer, rcpts ...string) Result {
	t.Helper()
	ctx := context.Background()
	tx := d.Begin(ctx, mxEnvelope())
	for _, r := range rcpts {
		if err := tx.AddRecipient(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	res, err := tx.Commit(ctx, []byte(testBody))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Quota can run out between RCPT and the commit: the copy accepted at RCPT is still stored (a soft quota), because
// refusing it now could only fail the message for every recipient, at every retry.
func TestQuotaExceededAfterRcptStillDelivers(t *testing.T) {
	st := newTestStore(t)
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	ctx := context.Background()
	tx := d.Begin(ctx, mxEnvelope())
	for _, r := range []string{"an@" + domain, "chi@" + domain} {
		if err := tx.AddRecipient(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.UpdateAccount("chi@"+domain, func(a *store.Account) error { a.Quota = 10; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx, []byte(testBody)); err != nil {
		t.Fatalf("commit: %v", err)
	}
	for _, u := range []string{"an@" + domain, "chi@" + domain} {
		if n := len(inbox(t, st, u)); n != 1 {
			t.Errorf("%s has %d messages, want 1", u, n)
		}
	}
	// The next message is refused for chi at RCPT, and only for chi.
	tx = d.Begin(ctx, mxEnvelope())
	if err := tx.AddRecipient(ctx, "chi@"+domain); !errors.Is(err, ErrOverQuota) {
		t.Errorf("RCPT for a full account: %v", err)
	}
	if err := tx.AddRecipient(ctx, "an@"+domain); err != nil {
		t.Errorf("RCPT for another account: %v", err)
	}
}

func TestRecipientRemovedBeforeCommit(t *testing.T) {
	st := newTestStore(t)
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	ctx := context.Background()
	tx := d.Begin(ctx, mxEnvelope())
	for _, r := range []string{"an@" + domain, "chi@" + domain} {
		if err := tx.AddRecipient(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RemoveAccount("chi@" + domain); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx, []byte(testBody)); !errors.Is(err, ErrRecipientGone) {
		t.Fatalf("commit: %v, want ErrRecipientGone", err)
	}
	if n := len(inbox(t, st, "an@"+domain)); n != 0 {
		t.Errorf("an has %d messages after a failed commit", n)
	}
}

func TestDuplicateRecipientsOneCopy(t *testing.T) {
	st := newTestStore(t)
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	res := deliver(t, d, "an@"+domain, "AN@hanoi.gov.vn", "an@HANOI.GOV.VN")
	if len(res.Recipients) != 3 || res.Recipients[0].UID != 1 || res.Recipients[2].UID != 1 {
		t.Fatalf("result %+v", res)
	}
	if n := len(inbox(t, st, "an@"+domain)); n != 1 {
		t.Errorf("an has %d copies, want 1", n)
	}
	for _, rr := range res.Recipients[1:] {
		if rr.UID != res.Recipients[0].UID || rr.MailboxID != res.Recipients[0].MailboxID {
			t.Errorf("recipient %s: placed at %d/%d, not with the first", rr.Recipient, rr.MailboxID, rr.UID)
		}
	}
}

func TestDisabledAccountReceives(t *testing.T) {
	st := newTestStore(t)
	if _, err := st.UpdateAccount("binh@"+domain, func(a *store.Account) error { a.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	deliver(t, New(st, "mail.hanoi.gov.vn", nil, nil), "binh@"+domain)
	if n := len(inbox(t, st, "binh@"+domain)); n != 1 {
		t.Errorf("disabled account has %d messages, want 1", n)
	}
}

func TestSubmissionFromHeader(t *testing.T) {
	st := newTestStore(t)
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	ctx := context.Background()
	env := Envelope{From: "an@hanoi.gov.vn", Authenticated: "an@hanoi.gov.vn", Submission: true}
	tests := []struct {
		body string
		want error
	}{
		{"From: \"Nguyễn Văn An\" <AN@hanoi.gov.vn>\r\n\r\nx\r\n", nil},
		{"From: binh@hanoi.gov.vn\r\n\r\nx\r\n", ErrFromNotAllowed},
		{"From: an@hanoi.gov.vn, binh@hanoi.gov.vn\r\n\r\nx\r\n", ErrFromNotAllowed},
		{"Subject: no from\r\n\r\nx\r\n", ErrFromNotAllowed},
	}
	for _, tt := range tests {
		tx := d.Begin(ctx, env)
		if err := tx.AddRecipient(ctx, "chi@"+domain); err != nil {
			t.Fatal(err)
		}
		_, err := tx.Commit(ctx, []byte(tt.body))
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("Commit(%q) = %v, want %v", tt.body, err, tt.want)
		}
	}
	if n := len(inbox(t, st, "chi@"+domain)); n != 1 {
		t.Errorf("chi has %d messages, want 1 (only the allowed one)", n)
	}
}

func TestAuthorizeSender(t *testing.T) {
	st := newTestStore(t)
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	ctx := context.Background()
	an, err := st.Account("an@" + domain)
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"an@hanoi.gov.vn": true, "An@Hanoi.Gov.Vn": true, "binh@hanoi.gov.vn": false,
		"": false, "an@other.example": false} {
		sendable, err := d.AuthorizeSender(ctx, an, addr)
		if want && (err != nil || len(sendable) != 1 || sendable[0] != "an@hanoi.gov.vn") {
			t.Errorf("AuthorizeSender(an, %q) = %v, %v; want [an@hanoi.gov.vn]", addr, sendable, err)
		}
		if !want && !errors.Is(err, ErrSenderNotAllowed) {
			t.Errorf("AuthorizeSender(an, %q) = %v, want ErrSenderNotAllowed", addr, err)
		}
	}
	if _, err := st.UpdateAccount(an.Address, func(a *store.Account) error { a.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AuthorizeSender(ctx, an, an.Address); !errors.Is(err, ErrSenderRevoked) {
		t.Errorf("disabled account: %v, want ErrSenderRevoked", err)
	}
}

func TestTransactionLifecycle(t *testing.T) {
	st := newTestStore(t)
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	ctx := context.Background()
	tx := d.Begin(ctx, mxEnvelope())
	if _, err := tx.Commit(ctx, []byte(testBody)); !errors.Is(err, ErrNoRecipients) {
		t.Errorf("Commit without recipients = %v", err)
	}
	tx = d.Begin(ctx, mxEnvelope())
	if err := tx.AddRecipient(ctx, "an@"+domain); err != nil {
		t.Fatal(err)
	}
	tx.Abort()
	if _, err := tx.Commit(ctx, []byte(testBody)); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Abort = %v", err)
	}
	if err := tx.AddRecipient(ctx, "an@"+domain); !errors.Is(err, ErrClosed) {
		t.Errorf("AddRecipient after Abort = %v", err)
	}
	if n := len(inbox(t, st, "an@"+domain)); n != 0 {
		t.Errorf("aborted transaction stored %d messages", n)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	tx = d.Begin(ctx, mxEnvelope())
	if err := tx.AddRecipient(ctx, "an@"+domain); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(cancelled, []byte(testBody)); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit with a cancelled context = %v", err)
	}
}

// failingStore is the real store with failures injected on demand.
type failingStore struct {
	*store.Store
	failLookup, failDeliver, failUnits bool
}

func (f *failingStore) UnitAccounts(path string, recursive bool) ([]store.Account, error) {
	if f.failUnits {
		return nil, errInjected
	}
	return f.Store.UnitAccounts(path, recursive)
}

var errInjected = errors.New("injected store failure")

func (f *failingStore) HasDomain(name string) (bool, error) {
	if f.failLookup {
		return false, errInjected
	}
	return f.Store.HasDomain(name)
}

func (f *failingStore) Account(address string) (store.Account, error) {
	if f.failLookup {
		return store.Account{}, errInjected
	}
	return f.Store.Account(address)
}

func (f *failingStore) Lookup(address string) (store.Entry, error) {
	if f.failLookup {
		return store.Entry{}, errInjected
	}
	return f.Store.Lookup(address)
}

func (f *failingStore) DeliverMessage(d store.Delivery) ([]store.Placed, error) {
	if f.failDeliver {
		return nil, errInjected
	}
	return f.Store.DeliverMessage(d)
}

// isSentinel reports whether err matches one of the errors the protocol layers give a specific reply.
func isSentinel(err error) bool {
	for _, s := range []error{ErrBadAddress, ErrUnknownRecipient, ErrNotLocal, ErrOverQuota, ErrSenderNotAllowed,
		ErrFromNotAllowed, ErrNoRecipients, ErrClosed, ErrMailboxDisabled, ErrNoMembers, ErrPostingDenied,
		ErrSenderRevoked, ErrRecipientGone, ErrMailLoop} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func TestStoreFailures(t *testing.T) {
	st := newTestStore(t)
	fs := &failingStore{Store: st}
	d := newDeliverer(fs, "mail.hanoi.gov.vn", nil)
	ctx := context.Background()

	fs.failLookup = true
	err := d.Begin(ctx, mxEnvelope()).AddRecipient(ctx, "an@"+domain)
	if !errors.Is(err, errInjected) || isSentinel(err) {
		t.Errorf("lookup failure: %v, want the injected internal error", err)
	}
	fs.failLookup = false

	tx := d.Begin(ctx, mxEnvelope())
	for _, r := range []string{"an@" + domain, "binh@" + domain} {
		if err := tx.AddRecipient(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	fs.failDeliver = true
	if _, err := tx.Commit(ctx, []byte(testBody)); !errors.Is(err, errInjected) || isSentinel(err) {
		t.Errorf("commit failure: %v, want the injected internal error", err)
	}
	for _, a := range []string{"an@", "binh@"} {
		if n := len(inbox(t, st, a+domain)); n != 0 {
			t.Errorf("%s has %d messages after a failed commit", a, n)
		}
	}
}
