package server

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailserver/internal/config"
	"mailserver/internal/metrics/metricstest"
	"mailserver/internal/tlsutil"
)

const metricsToken = "mã-thông-báo-giám-sát-2026"

// startMetricsServer starts a server whose [metrics] listener asks for metricsToken, with routes to another
// agency (bo-noi-vu.gov.vn: the peer, which refuses khongco@) and to one whose server drops every connection
// (bo-tai-chinh.gov.vn: mail to it stays queued).
func startMetricsServer(t *testing.T) *testServer {
	t.Helper()
	peer := startAgencyPeer(t)
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { down.Close() })
	go func() {
		for {
			c, err := down.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	cfg := newTestConfig(t)
	cfg.Routes = []config.RouteConfig{{Domain: "bo-noi-vu.gov.vn", Host: peer.addr, TLS: "none"},
		{Domain: "bo-tai-chinh.gov.vn", Host: down.Addr().String(), TLS: "none"}}
	cfg.Metrics.BearerTokenFile = filepath.Join(cfg.DataDir, "metrics.token")
	if err := os.WriteFile(cfg.Metrics.BearerTokenFile, []byte(metricsToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return provision(startServerWith(t, cfg))
}

// getMetrics asks the metrics listener for /metrics with the given Authorization field ("" for none).
func (ts *testServer) getMetrics(authorization string) *http.Response {
	ts.t.Helper()
	return ts.getFromMetricsListener("/metrics", authorization)
}

// getFromMetricsListener asks the metrics listener for path with the given Authorization field ("" for none).
func (ts *testServer) getFromMetricsListener(path, authorization string) *http.Response {
	ts.t.Helper()
	req, err := http.NewRequest("GET", "http://"+ts.Addr("metrics")+path, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	return resp
}

// scrape reads /metrics as a scraper with the token does.
func (ts *testServer) scrape() metricstest.Snapshot {
	ts.t.Helper()
	resp := ts.getMetrics("Bearer " + metricsToken)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ts.t.Fatalf("scrape: %s", resp.Status)
	}
	return metricstest.Parse(ts.t, resp.Body)
}

func TestMetricsNeedTheBearerToken(t *testing.T) {
	ts := startMetricsServer(t)
	for authorization, want := range map[string]int{
		"": http.StatusUnauthorized, "Bearer sai": http.StatusUnauthorized, "Bearer " + metricsToken: http.StatusOK,
	} {
		resp := ts.getMetrics(authorization)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Authorization %q: %s, want %d", authorization, resp.Status, want)
		}
	}
}

// The runtime's profiles are served only when [metrics] profiling is on, and then only with the token.
func TestProfilesOnlyWhenAskedForAndWithTheToken(t *testing.T) {
	ts := startMetricsServer(t)
	resp := ts.getFromMetricsListener("/debug/pprof/", "Bearer "+metricsToken)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("profiling off: /debug/pprof/ answered %s, want 404", resp.Status)
	}

	cfg := newTestConfig(t)
	cfg.Metrics.Profiling = true
	cfg.Metrics.BearerTokenFile = filepath.Join(cfg.DataDir, "metrics.token")
	if err := os.WriteFile(cfg.Metrics.BearerTokenFile, []byte(metricsToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	profiled := startServerWith(t, cfg)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/profile?seconds=1"} {
		resp := profiled.getFromMetricsListener(path, "")
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without the token: %s, want 401", path, resp.Status)
		}
	}
	resp = profiled.getFromMetricsListener("/debug/pprof/goroutine?debug=1", "Bearer "+metricsToken)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile:") {
		t.Errorf("goroutine profile with the token: %s %.200q", resp.Status, body)
	}
}

// A token file that is empty (or missing) stops the start instead of serving the metrics to anyone.
func TestMetricsTokenFileMustHoldAToken(t *testing.T) {
	cfg := newTestConfig(t)
	cfg.Metrics.BearerTokenFile = filepath.Join(cfg.DataDir, "metrics.token")
	if err := os.WriteFile(cfg.Metrics.BearerTokenFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg, slog.New(slog.DiscardHandler), Options{NoSync: true}); err == nil ||
		!strings.Contains(err.Error(), "metrics.bearer_token_file") {
		t.Errorf("empty token file: %v, want an error naming metrics.bearer_token_file", err)
	}
	os.Remove(cfg.Metrics.BearerTokenFile)
	if _, err := New(cfg, slog.New(slog.DiscardHandler), Options{NoSync: true}); err == nil ||
		!strings.Contains(err.Error(), "metrics.bearer_token_file") {
		t.Errorf("missing token file: %v, want an error naming metrics.bearer_token_file", err)
	}
}

// A scripted workload moves each counter by exactly what it did: three messages on the MX port (one refused at
// RCPT), two wrong IMAP passwords and a right one, a few IMAP commands and an IDLE, and a submission to three
// recipients in other agencies (one delivered, one refused by the remote server, which bounces to the sender, one
// deferred, which stays queued). Nothing else moves, and no label value is an address or a domain.
func TestMetricsAfterAWorkload(t *testing.T) {
	ts := startMetricsServer(t)
	before := ts.scrape()

	accepted := "From: lan@bo-noi-vu.gov.vn\r\nTo: binh@example.gov.vn\r\nSubject: Giấy mời họp\r\n\r\nKính gửi đồng chí Bình.\r\n"
	for _, rcpt := range []string{"binh@example.gov.vn", "binh@example.gov.vn"} {
		if err := sendMX(ts, "lan@bo-noi-vu.gov.vn", []string{rcpt}, accepted); err != nil {
			t.Fatal(err)
		}
	}
	if err := sendMX(ts, "lan@bo-noi-vu.gov.vn", []string{"khongco@example.gov.vn"}, accepted); smtpCode(err) != "550 5.1.1" {
		t.Fatalf("unknown recipient: %v", err)
	}

	c, err := imapclient.DialTLS(ts.Addr("imaps"), &imapclient.Options{TLSConfig: ts.clientTLS()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 2 {
		var ie *imap.Error
		if err := c.Login("binh@example.gov.vn", "sai-mat-khau").Wait(); !errors.As(err, &ie) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	if err := c.Login("binh@example.gov.vn", testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.List("", "*", nil).Collect(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if msgs, err := c.Fetch(imap.SeqSetNum(1, 2), &imap.FetchOptions{Envelope: true}).Collect(); err != nil || len(msgs) != 2 {
		t.Fatalf("fetch: %d messages, %v", len(msgs), err)
	}
	if _, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	metricstest.WaitFor(t, ts.scrape, 1, "mailserver_imap_idle_sessions")
	if got := ts.scrape().Value("mailserver_imap_sessions"); got != 1 {
		t.Errorf("IMAP sessions during IDLE: %v, want 1", got)
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	metricstest.WaitFor(t, ts.scrape, 0, "mailserver_imap_sessions")

	submitted := "From: an@example.gov.vn\r\nTo: lan@bo-noi-vu.gov.vn\r\nSubject: Báo cáo\r\n\r\nNội dung.\r\n"
	if err := ts.submit("an@example.gov.vn", []string{"lan@bo-noi-vu.gov.vn", "khongco@bo-noi-vu.gov.vn",
		"minh@bo-tai-chinh.gov.vn"}, submitted); err != nil {
		t.Fatal(err)
	}
	// The bounce for khongco@ is delivered to an@ before the attempt is recorded.
	metricstest.WaitFor(t, ts.scrape, 1, "mailserver_dsn_sent_total", "kind", "failure")
	metricstest.WaitFor(t, ts.scrape, 1, "mailserver_queue_messages")

	after := ts.scrape()
	want := map[string]float64{
		key("mailserver_connections_total", "listener", "mx"):                  3,
		key("mailserver_connections_total", "listener", "imaps"):               1,
		key("mailserver_connections_total", "listener", "submission"):          1,
		key("mailserver_smtp_replies_total", "listener", "mx", "class", "2xx"): 13, // 220 EHLO MAIL RCPT end, 220 EHLO MAIL
		key("mailserver_smtp_replies_total", "listener", "mx", "class", "3xx"): 2,  // 354
		key("mailserver_smtp_replies_total", "listener", "mx", "class", "5xx"): 1,  // 550 5.1.1
		// 220, EHLO, STARTTLS, EHLO, AUTH, MAIL, 3 RCPT, end of data
		key("mailserver_smtp_replies_total", "listener", "submission", "class", "2xx"):           10,
		key("mailserver_smtp_replies_total", "listener", "submission", "class", "3xx"):           1,
		key("mailserver_smtp_messages_accepted_total", "listener", "mx"):                         2,
		key("mailserver_smtp_accepted_bytes_total", "listener", "mx"):                            float64(2 * len(accepted)),
		key("mailserver_smtp_delivery_duration_seconds_count", "listener", "mx"):                 2,
		key("mailserver_smtp_messages_accepted_total", "listener", "submission"):                 1,
		key("mailserver_smtp_accepted_bytes_total", "listener", "submission"):                    -1, // the header completed
		key("mailserver_smtp_delivery_duration_seconds_count", "listener", "submission"):         1,
		key("mailserver_smtp_unknown_recipients_total"):                                          1,
		key("mailserver_delivery_local_copies_total"):                                            3, // two to binh@, the bounce to an@
		key("mailserver_outbound_attempts_total", "result", "delivered", "destination", "route"): 1,
		key("mailserver_outbound_attempts_total", "result", "failed", "destination", "route"):    1,
		key("mailserver_outbound_attempts_total", "result", "deferred", "destination", "route"):  1,
		key("mailserver_dsn_sent_total", "kind", "failure"):                                      1,
		key("mailserver_logins_total", "protocol", "imap", "result", "failure"):                  2,
		key("mailserver_logins_total", "protocol", "imap", "result", "success"):                  1,
		key("mailserver_logins_total", "protocol", "smtp", "result", "success"):                  1,
		key("mailserver_imap_command_duration_seconds_count", "command", "LOGIN"):                3,
		key("mailserver_imap_command_duration_seconds_count", "command", "LIST"):                 1,
		key("mailserver_imap_command_duration_seconds_count", "command", "SELECT"):               1,
		key("mailserver_imap_command_duration_seconds_count", "command", "FETCH"):                1,
		key("mailserver_imap_command_duration_seconds_count", "command", "UID SEARCH"):           1,
		key("mailserver_imap_command_duration_seconds_count", "command", "IDLE"):                 1,
	}
	present := map[string]bool{}
	for _, series := range after.Series() {
		present[series] = true
		if !counted(series) || series == key("mailserver_connections_total", "listener", "metrics") {
			continue // scrapes come over a connection of their own, kept alive or not
		}
		delta := after.ValueOf(series) - before.ValueOf(series)
		w, listed := want[series]
		switch {
		case listed && w < 0:
			if delta <= 0 {
				t.Errorf("%s moved by %v, want it to move", series, delta)
			}
		case delta != w:
			t.Errorf("%s moved by %v, want %v", series, delta, w)
		}
	}
	for series := range want {
		if !present[series] {
			t.Errorf("%s is not in the scrape", series)
		}
	}

	if got := after.Value("mailserver_queue_messages"); got != 1 {
		t.Errorf("queue: %v messages, want the one for bo-tai-chinh.gov.vn", got)
	}
	if !after.Has("mailserver_queue_oldest_message_age_seconds") {
		t.Error("no age of the oldest queued message")
	}
	// The store's counts are read at most once a minute: the first scrape's stand.
	for _, name := range []string{"mailserver_store_bodies", "mailserver_store_body_references", "mailserver_store_file_size_bytes"} {
		if !after.Has(name) || after.Value(name) != before.Value(name) {
			t.Errorf("%s = %v, want the first scrape's %v", name, after.Value(name), before.Value(name))
		}
	}
	if after.Value("mailserver_store_file_size_bytes") <= 0 || after.Value("mailserver_store_last_backup_timestamp_seconds") != 0 {
		t.Errorf("store file %v bytes, last backup at %v; want a size, and 0 for no backup",
			after.Value("mailserver_store_file_size_bytes"), after.Value("mailserver_store_last_backup_timestamp_seconds"))
	}
	leaf, err := tlsutil.Leaf(ts.tls)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.Value("mailserver_tls_certificate_expiry_timestamp_seconds"); got != float64(leaf.NotAfter.Unix()) {
		t.Errorf("certificate expiry %v, want %v", got, leaf.NotAfter.Unix())
	}
	for _, v := range after.LabelValues() {
		if strings.ContainsAny(v, "@") || strings.Contains(v, "gov.vn") {
			t.Errorf("label value %q names an address or a domain", v)
		}
	}
}

func key(name string, labels ...string) string { return metricstest.Key(name, labels...) }

// counted reports whether a series counts events (a counter, or a histogram's count of observations), as opposed to
// a gauge or a sum of durations.
func counted(series string) bool {
	name, _, _ := strings.Cut(series, "{")
	return strings.HasPrefix(name, "mailserver_") && (strings.HasSuffix(name, "_total") || strings.HasSuffix(name, "_count"))
}
