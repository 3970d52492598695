package server

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The webmail on the real server: served over HTTPS with its security headers, refused over plain HTTP when
// plaintext logins are not allowed, and a login there opens the user's folders.
func TestWebmailOnTheHTTPSListener(t *testing.T) {
	ts := startServer(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: ts.clientTLS()}}
	base := "https://" + ts.Addr("https") + "/mail/"
	resp, err := c.Get(base + "login")
	if err != nil {
		t.Fatal(err)
	}
	form, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("login form over HTTPS: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(form)
	if m == nil {
		t.Fatalf("no CSRF token in the login form:\n%s", form)
	}
	resp, err = c.PostForm(base+"login", url.Values{"csrf": {string(m[1])}, "address": {testUsers[0]},
		"password": {testPassword}})
	if err != nil {
		t.Fatal(err)
	}
	home, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(home), "/mail/list?f=INBOX") {
		t.Fatalf("after login: %d\n%s", resp.StatusCode, home)
	}
	plain, err := http.Get("http://" + ts.Addr("http") + "/mail/login")
	if err != nil {
		t.Fatal(err)
	}
	plain.Body.Close()
	if plain.StatusCode != http.StatusForbidden {
		t.Errorf("the webmail over plain HTTP without allow_insecure_auth: %d, want 403", plain.StatusCode)
	}
}
