package webmail

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailserver/internal/store"
)

func TestLoginWrongAndRight(t *testing.T) {
	e := newTestEnv(t, 0)
	c := e.client(t)
	if r := e.get(t, c, "/mail/"); r.url != "/mail/login" || !strings.Contains(r.body, `name="password"`) {
		t.Fatalf("without a session: %d at %s", r.status, r.url)
	}
	wrongPassword := e.login(t, c, e.acct.Address, "sai")
	unknownUser := e.login(t, c, "ai@hanoi.gov.vn", testPassword)
	for _, r := range []response{wrongPassword, unknownUser} {
		if r.status != http.StatusUnauthorized || !strings.Contains(r.body, words["vi"]["login_failed"]) {
			t.Fatalf("refused login: %d\n%s", r.status, r.body)
		}
	}
	r := e.login(t, c, e.acct.Address, testPassword)
	if r.status != http.StatusOK || r.url != "/mail/" || !strings.Contains(r.body, e.acct.Address) {
		t.Fatalf("login: %d at %s", r.status, r.url)
	}
	log, err := e.st.AuditLog(store.AuditFilter{Account: e.acct.Address})
	if err != nil || len(log) != 1 || log[0].Action != "webmail.login" || log[0].From != "webmail" {
		t.Fatalf("audit = %+v, %v", log, err)
	}
}

func TestLoginThrottled(t *testing.T) {
	e := newTestEnv(t, 0)
	c := e.client(t)
	for range 2 {
		e.login(t, c, e.acct.Address, "sai")
	}
	// The policy's third attempt waits an hour: refused at once, even with the right password.
	r := e.login(t, c, e.acct.Address, testPassword)
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, words["vi"]["login_throttled"]) {
		t.Fatalf("after failures: %d\n%s", r.status, r.body)
	}
}

func TestCSRFRequired(t *testing.T) {
	e := newTestEnv(t, 0)
	c, _ := e.loggedIn(t)
	if r := e.post(t, c, "/mail/logout", url.Values{}); r.status != http.StatusForbidden {
		t.Fatalf("logout without a token: %d", r.status)
	}
	if r := e.post(t, c, "/mail/logout", url.Values{"csrf": {"doan-bua"}}); r.status != http.StatusForbidden {
		t.Fatalf("logout with a wrong token: %d", r.status)
	}
	if r := e.get(t, c, "/mail/"); r.url != "/mail/" {
		t.Fatalf("refused logouts ended the session: at %s", r.url)
	}
	// A login form posted without the pre-login cookie (from another site) is refused too.
	fresh := e.client(t)
	r := e.post(t, fresh, "/mail/login", url.Values{"csrf": {"x"}, "address": {e.acct.Address},
		"password": {testPassword}})
	if r.status != http.StatusForbidden {
		t.Fatalf("login without the double-submit cookie: %d", r.status)
	}
}

func TestCookieFromBeforeLoginIsNoSession(t *testing.T) {
	e := newTestEnv(t, 0)
	c := e.client(t)
	base, _ := url.Parse(e.srv.URL)
	planted := &http.Cookie{Name: sessionCookie, Value: "cookie-cua-ke-gian", Path: "/", Secure: true}
	c.Jar.SetCookies(base, []*http.Cookie{planted})
	if r := e.get(t, c, "/mail/"); r.url != "/mail/login" {
		t.Fatalf("a planted cookie opened %s", r.url)
	}
	e.login(t, c, e.acct.Address, testPassword)
	var token string
	for _, ck := range c.Jar.Cookies(base) {
		if ck.Name == sessionCookie {
			token = ck.Value
		}
	}
	if token == "" || token == planted.Value {
		t.Fatalf("session token after login = %q", token)
	}
	if _, err := e.st.LookupWebSession(planted.Value, time.Hour); err == nil {
		t.Fatal("the planted token became a session")
	}
}

func TestLogoutEndsSession(t *testing.T) {
	e := newTestEnv(t, 0)
	c, home := e.loggedIn(t)
	base, _ := url.Parse(e.srv.URL)
	var token string
	for _, ck := range c.Jar.Cookies(base) {
		if ck.Name == sessionCookie {
			token = ck.Value
		}
	}
	r := e.post(t, c, "/mail/logout", url.Values{"csrf": {csrfOf(t, home.body)}})
	if r.url != "/mail/login" {
		t.Fatalf("logout went to %s (%d)", r.url, r.status)
	}
	if _, err := e.st.LookupWebSession(token, time.Hour); err == nil {
		t.Fatal("the session outlived the logout")
	}
	// The old cookie, brought back, opens nothing.
	c.Jar.SetCookies(base, []*http.Cookie{{Name: sessionCookie, Value: token, Path: "/", Secure: true}})
	if r := e.get(t, c, "/mail/"); r.url != "/mail/login" {
		t.Fatalf("old cookie after logout opened %s", r.url)
	}
	log, _ := e.st.AuditLog(store.AuditFilter{Account: e.acct.Address})
	if len(log) != 2 || log[1].Action != "webmail.logout" {
		t.Fatalf("audit = %+v", log)
	}
}

func TestIdleTimeout(t *testing.T) {
	e := newTestEnv(t, 300*time.Millisecond)
	c, _ := e.loggedIn(t)
	time.Sleep(400 * time.Millisecond)
	if r := e.get(t, c, "/mail/"); r.url != "/mail/login" {
		t.Fatalf("idle session still open: at %s", r.url)
	}
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	e := newTestEnv(t, 0)
	c, _ := e.loggedIn(t)
	noRedirect := *c
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	paths := []string{"/mail/", "/mail/login", "/mail/list?f=INBOX", "/mail/list?f=Kh%C3%B4ng-c%C3%B3",
		"/mail/read?f=INBOX&uid=1", "/mail/static/mail.css", "/mail/static/none", "/mail/lang?l=en"}
	var all []response
	for _, p := range paths {
		all = append(all, e.get(t, &noRedirect, p))
	}
	all = append(all, e.post(t, c, "/mail/logout", url.Values{}))
	for i, r := range all {
		for name, want := range map[string]string{"Content-Security-Policy": contentSecurityPolicy,
			"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
			"Cache-Control": "no-store"} {
			if got := r.header.Get(name); got != want {
				t.Errorf("response %d (%d): %s = %q, want %q", i, r.status, name, got, want)
			}
		}
		// The one script element allowed is the page's own file (mail.js), which the CSP names by origin.
		body := strings.ReplaceAll(r.body, `<script src="/mail/static/mail.js" defer></script>`, "")
		if strings.Contains(body, "<script") || strings.Contains(body, "style=") {
			t.Errorf("response %d has inline script or style", i)
		}
	}
}
