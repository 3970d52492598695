package webmail

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailserver/internal/auth"
	"mailserver/internal/message"
	"mailserver/internal/store"
)

const testPassword = "Mật-khẩu-2026!"

type testEnv struct {
	st   *store.Store
	srv  *httptest.Server
	acct store.Account
}

// newTestEnv starts the webmail on a TLS test server over a real store, with one account and the real
// Authenticator (a cheap hash, and a throttle that refuses after two failures).
func newTestEnv(t *testing.T, idle time.Duration) *testEnv {
	t.Helper()
	st := openTestStore(t)
	env := &testEnv{st: st, acct: addAccount(t, st, "lan@hanoi.gov.vn")}
	policy := auth.DefaultPolicy()
	policy.Account = auth.Limits{Free: 2, BaseDelay: time.Hour, MaxDelay: time.Hour, Leak: time.Hour, LockAt: 50,
		LockFor: time.Hour}
	policy.MaxWait = time.Second
	authn := auth.NewAuthenticator(st, auth.NewThrottleWithPolicy(time.Now, policy))
	h, err := New(Options{Store: st, Auth: authn, IdleTimeout: idle, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	env.srv = httptest.NewTLSServer(h)
	t.Cleanup(env.srv.Close)
	return env
}

func addAccount(t *testing.T, st *store.Store, address string) store.Account {
	t.Helper()
	hash, err := auth.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}.Hash(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.AddAccount(store.Account{Address: address, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// client is a browser: a cookie jar, redirects followed.
func (e *testEnv) client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := *e.srv.Client() // a browser of its own: the server's client is one shared value
	c.Jar = jar
	return &c
}

type response struct {
	status int
	header http.Header
	body   string
	url    string
}

func do(t *testing.T, c *http.Client, req *http.Request) response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b), url: resp.Request.URL.Path}
}

func (e *testEnv) get(t *testing.T, c *http.Client, path string) response {
	t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}

func (e *testEnv) post(t *testing.T, c *http.Client, path string, form url.Values) response {
	t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, c, req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field in:\n%s", body)
	}
	return m[1]
}

// login fills in the login form as a browser would.
func (e *testEnv) login(t *testing.T, c *http.Client, address, password string) response {
	t.Helper()
	form := e.get(t, c, "/mail/login")
	return e.post(t, c, "/mail/login", url.Values{"csrf": {csrfOf(t, form.body)}, "address": {address},
		"password": {password}})
}

func (e *testEnv) loggedIn(t *testing.T) (*http.Client, response) {
	t.Helper()
	c := e.client(t)
	r := e.login(t, c, e.acct.Address, testPassword)
	if r.status != http.StatusOK || r.url != "/mail/" {
		t.Fatalf("login: %d at %s\n%s", r.status, r.url, r.body)
	}
	return c, r
}

// newMessage is a parsed message ready to store, as delivery stores it.
func newMessage(raw string, date time.Time) store.NewMessage {
	p := message.Parse([]byte(raw))
	return store.NewMessage{Body: []byte(raw), Meta: p.ToMeta().Encode(), Text: p.SearchText(), InternalDate: date}
}

func vietnameseMessage(n int, date time.Time) string {
	return fmt.Sprintf("From: =?UTF-8?B?%s?= <hung@hanoi.gov.vn>\r\nTo: lan@hanoi.gov.vn\r\n"+
		"Subject: =?UTF-8?Q?B=C3=A1o_c=C3=A1o_s=E1=BB=91_%d?=\r\nDate: %s\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"+
		"Kính gửi chị Lan,\r\nBáo cáo số %d đính kèm. <script>alert(1)</script>\r\n",
		"Tmd1eeG7hW4gVsSDbiBIw7luZw==", n, date.Format(time.RFC1123Z), n)
}

func mustInbox(t *testing.T, st *store.Store, accountID uint64) store.Mailbox {
	t.Helper()
	mb, err := st.Mailbox(accountID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

// openTestStore opens a fresh store with the domain hanoi.gov.vn, closed when the test ends.
func openTestStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "mail.db"), store.Options{NoSync: true, NoIndexer: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.AddDomain("hanoi.gov.vn"); err != nil {
		t.Fatal(err)
	}
	return st
}

// sharedForReading adds the shared mailbox vanthu@hanoi.gov.vn, granted to the test user for reading only.
func (e *testEnv) sharedForReading(t *testing.T) store.Account {
	t.Helper()
	shared, err := e.st.AddShared(store.Account{Address: "vanthu@hanoi.gov.vn"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetGrant(shared.Address, e.acct.Address, store.RightRead); err != nil {
		t.Fatal(err)
	}
	return shared
}
