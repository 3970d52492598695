package metrics_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailserver/internal/metrics"
	"mailserver/internal/metrics/metricstest"
	"mailserver/internal/store"
)

// A component built without metrics calls the same methods on a nil *Metrics, which count nothing.
func TestNilMetricsCountNothing(t *testing.T) {
	var m *metrics.Metrics
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got := m.CountConnections(ln, "mx"); got != ln {
		t.Error("a nil Metrics wrapped the listener")
	}
	m.SMTPReply("mx", 250)
	m.SMTPMessageAccepted("mx", 10, time.Millisecond)
	m.RecipientRefusedAsUnknown()
	m.ConnectionClosedForHarvesting()
	m.LocalCopiesStored(2)
	m.OutboundAttempt(metrics.AttemptDelivered, "mx")
	m.DSNSent(metrics.DSNFailure)
	m.IMAPSessionOpened()()
	m.IMAPIdleStarted()()
	m.IMAPCommand("FETCH", time.Millisecond)
	m.Login(metrics.ProtocolIMAP, metrics.LoginSuccess)
	if err := m.WatchStore(nil); err != nil {
		t.Error(err)
	}
	if err := m.WatchCertificate(nil); err != nil {
		t.Error(err)
	}
}

func TestCountsByFixedLabels(t *testing.T) {
	m := metrics.New(nil)
	before := metricstest.Gather(t, m)
	// Every fixed combination exists at zero before anything happened.
	for _, series := range [][]string{
		{"mailserver_logins_total", "protocol", "carddav", "result", "locked"},
		{"mailserver_smtp_replies_total", "listener", "submissions", "class", "4xx"},
		{"mailserver_outbound_attempts_total", "result", "failed", "destination", "smarthost"},
		{"mailserver_dsn_sent_total", "kind", "delay"},
	} {
		if !before.Has(series[0], series[1:]...) {
			t.Errorf("%s not there at zero", metricstest.Key(series[0], series[1:]...))
		}
	}

	m.SMTPReply("mx", 220)
	m.SMTPReply("mx", 354)
	m.SMTPReply("mx", 550)
	m.SMTPReply("mx", 999) // no such code is sent; it still lands in a fixed class
	m.SMTPMessageAccepted("submission", 1234, 3*time.Millisecond)
	m.OutboundAttempt(metrics.AttemptDeferred, "a") // the implicit MX
	m.OutboundAttempt(metrics.AttemptDelivered, "route")
	m.IMAPCommand("UID FETCH", time.Millisecond)
	m.IMAPCommand("XYZZY", time.Millisecond) // any atom a client sends
	closeSession := m.IMAPSessionOpened()
	endIdle := m.IMAPIdleStarted()
	endIdle()
	endIdle() // once only

	s := metricstest.Gather(t, m)
	s.Want(t, 1, "mailserver_smtp_replies_total", "listener", "mx", "class", "2xx")
	s.Want(t, 1, "mailserver_smtp_replies_total", "listener", "mx", "class", "3xx")
	s.Want(t, 2, "mailserver_smtp_replies_total", "listener", "mx", "class", "5xx")
	s.Want(t, 1, "mailserver_smtp_messages_accepted_total", "listener", "submission")
	s.Want(t, 1234, "mailserver_smtp_accepted_bytes_total", "listener", "submission")
	s.Want(t, 1, "mailserver_smtp_delivery_duration_seconds_count", "listener", "submission")
	s.Want(t, 1, "mailserver_outbound_attempts_total", "result", "deferred", "destination", "mx")
	s.Want(t, 1, "mailserver_outbound_attempts_total", "result", "delivered", "destination", "route")
	s.Want(t, 1, "mailserver_imap_command_duration_seconds_count", "command", "UID FETCH")
	s.Want(t, 1, "mailserver_imap_command_duration_seconds_count", "command", "other")
	s.Want(t, 1, "mailserver_imap_sessions")
	s.Want(t, 0, "mailserver_imap_idle_sessions")
	closeSession()
	metricstest.Gather(t, m).Want(t, 0, "mailserver_imap_sessions")
}

// fakeStore counts the reads of the store's counts.
type fakeStore struct {
	path       string
	queue      store.QueueSummary
	stats      store.Stats
	statsReads int
	backup     store.LastBackup
	index      store.IndexSize
	fail       error
	slow       chan struct{} // when set, Stats waits for it to close
}

func (f *fakeStore) QueueSummary() (store.QueueSummary, error) { return f.queue, f.fail }
func (f *fakeStore) Stats() (store.Stats, error) {
	if f.slow != nil {
		<-f.slow
	}
	f.statsReads++
	return f.stats, f.fail
}
func (f *fakeStore) LastBackupNote() (store.LastBackup, bool, error) {
	return f.backup, !f.backup.Time.IsZero(), f.fail
}
func (f *fakeStore) SearchIndexSize() (store.IndexSize, error) { return f.index, f.fail }
func (f *fakeStore) Path() string                              { return f.path }

// The queue is read at every scrape; the store's counts, which walk every body, at most once a minute.
func TestStoreGaugesReadAtScrapeTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.db")
	if err := os.WriteFile(path, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	st := &fakeStore{path: path, stats: store.Stats{Bodies: 3, BodyRefs: 7},
		index: store.IndexSize{Bytes: 17300, Messages: 100, Unindexed: 12}}
	m := metrics.New(nil)
	m.SetClock(func() time.Time { return now })
	if err := m.WatchStore(st); err != nil {
		t.Fatal(err)
	}

	s := metricstest.Gather(t, m)
	for name, want := range map[string]float64{
		"mailserver_queue_messages": 0, "mailserver_queue_oldest_message_age_seconds": 0,
		"mailserver_store_file_size_bytes": 4096, "mailserver_store_bodies": 3, "mailserver_store_body_references": 7,
		"mailserver_store_last_backup_timestamp_seconds": 0,
		"mailserver_search_index_bytes":                  17300, "mailserver_search_index_unindexed_messages": 12,
	} {
		if got := s.Value(name); got != want || !s.Has(name) {
			t.Errorf("%s = %v (present: %v), want %v", name, got, s.Has(name), want)
		}
	}

	st.queue = store.QueueSummary{Messages: 2, Oldest: now.Add(-90 * time.Second)}
	st.stats = store.Stats{Bodies: 4, BodyRefs: 9}
	st.backup = store.LastBackup{Time: now.Add(-time.Hour)}
	now = now.Add(59 * time.Second)
	s = metricstest.Gather(t, m)
	if got := s.Value("mailserver_queue_messages"); got != 2 {
		t.Errorf("queue messages %v, want 2: the queue is read at every scrape", got)
	}
	if got := s.Value("mailserver_queue_oldest_message_age_seconds"); got != 90+59 {
		t.Errorf("oldest message age %v, want 149", got)
	}
	if got := s.Value("mailserver_store_bodies"); got != 3 || st.statsReads != 1 {
		t.Errorf("within a minute: bodies %v after %d reads, want the cached 3 after 1", got, st.statsReads)
	}

	now = now.Add(time.Second)
	s = metricstest.Gather(t, m)
	if got := s.Value("mailserver_store_bodies"); got != 4 || st.statsReads != 2 {
		t.Errorf("a minute on: bodies %v after %d reads, want 4 after 2", got, st.statsReads)
	}
	if got, want := s.Value("mailserver_store_last_backup_timestamp_seconds"), float64(now.Add(-time.Minute-time.Hour).Unix()); got != want {
		t.Errorf("last backup %v, want %v", got, want)
	}
}

// A store whose counts take long to read (a walk of a million bodies with a cold page cache) never holds a
// scrape past the wait: the scrape serves the rest without the store's gauges, and a later one has them.
func TestSlowStoreReadDoesNotHoldTheScrape(t *testing.T) {
	defer metrics.SetStoreReadWait(20 * time.Millisecond)()
	st := &fakeStore{path: t.TempDir(), stats: store.Stats{Bodies: 3, BodyRefs: 7}, slow: make(chan struct{})}
	m := metrics.New(nil)
	if err := m.WatchStore(st); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.Handler("").ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	s := metricstest.Parse(t, rec.Body)
	if s.Has("mailserver_store_bodies") || !s.Has("mailserver_queue_messages") {
		t.Error("while the store's counts are read: want the queue served and the store's gauges left out")
	}

	close(st.slow)
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec := httptest.NewRecorder()
		m.Handler("").ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if got := metricstest.Parse(t, rec.Body).Value("mailserver_store_bodies"); got == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the store's gauges never came once their reading ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st.statsReads != 1 {
		t.Errorf("%d reads of the store's counts, want the one the first scrape started", st.statsReads)
	}
}

// A store that cannot be read leaves its gauges out of the scrape, which still serves the rest.
func TestUnreadableStoreLeavesTheRest(t *testing.T) {
	m := metrics.New(nil)
	if err := m.WatchStore(&fakeStore{path: filepath.Join(t.TempDir(), "gone.db"), fail: errors.New("database not open")}); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.Handler("").ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	s := metricstest.Parse(t, rec.Body)
	if s.Has("mailserver_queue_messages") || !s.Has("mailserver_logins_total", "protocol", "imap", "result", "success") {
		t.Error("want the queue left out and the counters served")
	}
}

func TestCertificateExpiry(t *testing.T) {
	m := metrics.New(nil)
	notAfter := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := m.WatchCertificate(func() (time.Time, error) { return notAfter, nil }); err != nil {
		t.Fatal(err)
	}
	if got := metricstest.Gather(t, m).Value("mailserver_tls_certificate_expiry_timestamp_seconds"); got != float64(notAfter.Unix()) {
		t.Errorf("expiry %v, want %v", got, notAfter.Unix())
	}
}

func TestBearerToken(t *testing.T) {
	h := metrics.New(nil).Handler("s3cret-token")
	for _, c := range []struct {
		authorization string
		want          int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer wrong", http.StatusUnauthorized},
		{"Bearer s3cret-toke", http.StatusUnauthorized},
		{"Basic s3cret-token", http.StatusUnauthorized},
		{"Bearer ", http.StatusUnauthorized},
		{"Bearer s3cret-token", http.StatusOK},
		{"bearer s3cret-token", http.StatusOK}, // the scheme is case-insensitive
	} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if c.authorization != "" {
			req.Header.Set("Authorization", c.authorization)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("Authorization %q: status %d, want %d", c.authorization, rec.Code, c.want)
		}
		if c.want == http.StatusUnauthorized {
			body, _ := io.ReadAll(rec.Body)
			if rec.Header().Get("WWW-Authenticate") == "" || strings.Contains(string(body), "mailserver_") {
				t.Errorf("Authorization %q: a 401 without WWW-Authenticate, or with metrics", c.authorization)
			}
		}
	}
}

func TestConnectionsCounted(t *testing.T) {
	m := metrics.New(nil)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := m.CountConnections(raw, "imaps")
	defer ln.Close()
	for range 2 {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, asAccepted := s.(*net.TCPConn); !asAccepted {
			t.Errorf("accepted connection is a %T: it must be handed on as accepted", s)
		}
	}
	if got := metricstest.Gather(t, m).Value("mailserver_connections_total", "listener", "imaps"); got != 2 {
		t.Errorf("connections %v, want 2", got)
	}
}
