package server

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"mailserver/internal/admin"
)

// TestAddressBookOverHTTPS reads the global address book the way a phone or Thunderbird would, with curl as an
// independent client: discovery, then a REPORT that returns every colleague's card.
func TestAddressBookOverHTTPS(t *testing.T) {
	curl := requireTool(t, "curl")
	ts := startServer(t)
	if _, err := ts.Admin().AddUser(admin.AddUserRequest{Address: "ngoc.ttb@example.gov.vn", Name: "Trần Thị Bích Ngọc",
		Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	base := "https://127.0.0.1:" + ts.port("https")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(curl, append([]string{"-sS", "--cacert", ts.caFile(),
			"--user", "an@example.gov.vn:" + testPassword}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", base+"/.well-known/carddav"); !strings.HasPrefix(out, "301 ") {
		t.Errorf("well-known: %s", out)
	}
	home := run("-X", "PROPFIND", "-H", "Depth: 1", base+"/carddav/addressbooks/")
	if !strings.Contains(home, "Danh bạ cơ quan") {
		t.Fatalf("address-book home lists no book:\n%s", home)
	}
	report := `<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:prop><D:getetag/><C:address-data/></D:prop>
</C:addressbook-query>`
	cards := run("-X", "REPORT", "-H", "Depth: 1", "-H", "Content-Type: application/xml; charset=utf-8",
		"--data-binary", report, base+"/carddav/addressbooks/gal/")
	for _, want := range []string{"FN:Trần Thị Bích Ngọc", "EMAIL", "ngoc.ttb@example.gov.vn", "binh@example.gov.vn"} {
		if !strings.Contains(cards, want) {
			t.Errorf("address book lacks %q:\n%s", want, cards)
		}
	}
	// Wrong password: 401. Plain HTTP with plaintext logins off: refused before any password is sent.
	out, _ := exec.Command(curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ts.caFile(),
		"--user", "an@example.gov.vn:sai-mat-khau", "-X", "PROPFIND", base+"/carddav/").CombinedOutput()
	if string(out) != "401" {
		t.Errorf("wrong password: %s, want 401", out)
	}
	resp, err := http.Get("http://127.0.0.1:" + ts.port("http") + "/carddav/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("address book over plain HTTP: %s, want 403", resp.Status)
	}
}

// TestAddressBookPlainHTTPOnlyFromLoopback: with plaintext logins allowed (the dev default), plain HTTP still
// serves the address book to loopback clients only.
func TestAddressBookPlainHTTPOnlyFromLoopback(t *testing.T) {
	s := &Server{cfg: newTestConfig(t)}
	s.cfg.HTTP.AllowInsecureAuth = true
	reached := false
	h := s.requireTLS(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
	for remote, want := range map[string]bool{"127.0.0.1:5000": true, "[::1]:5000": true, "192.0.2.1:5000": false} {
		reached = false
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("PROPFIND", "/carddav/", nil)
		req.RemoteAddr = remote
		h.ServeHTTP(rec, req)
		if reached != want || (!want && rec.Code != http.StatusForbidden) {
			t.Errorf("plain HTTP from %s: reached %v, status %d", remote, reached, rec.Code)
		}
	}
}
