package autoconfig

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"mailserver/internal/address"
	"mailserver/internal/admin"
)

// The end-to-end tests of every form are in internal/server; these cover what the server's tests cannot reach.

type domains map[string]bool

func (d domains) HasDomain(name string) (bool, error) {
	if name == "broken.gov.vn" {
		return false, errors.New("store unavailable")
	}
	return d[name], nil
}

func newTestHandler(host admin.MailHost) *Handler {
	return New(Options{Directory: domains{"vinhyen.gov.vn": true},
		MailHost: func(*http.Request) admin.MailHost { return host }})
}

var publicHost = admin.MailHost{Hostname: "mail.vinhyen.gov.vn", Submission: 587, Submissions: 465, IMAP: 143,
	IMAPS: 993, HTTPS: 443}

func TestFoldAutodiscoverPath(t *testing.T) {
	for in, want := range map[string]string{
		"/Autodiscover/Autodiscover.xml":                     "/autodiscover/autodiscover.xml",
		"/AUTODISCOVER/AUTODISCOVER.JSON/v1.0/An@Vinhyen.vn": "/autodiscover/autodiscover.json/v1.0/An@Vinhyen.vn",
		"/Autodiscover":        "/Autodiscover", // not the folder: left to the mux's 404
		"/mail/Apple":          "/mail/Apple",
		"/autodiscover/":       "/autodiscover/",
		"/autodiscoverx/a.xml": "/autodiscoverx/a.xml",
	} {
		if got := foldAutodiscoverPath(in); got != want {
			t.Errorf("foldAutodiscoverPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// UUIDs are RFC 9562 version 8, the same for the same names, different for others.
func TestStableUUID(t *testing.T) {
	form := regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-8[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)
	a, b := stableUUID("x", "an@vinhyen.gov.vn"), stableUUID("x", "binh@vinhyen.gov.vn")
	if !form.MatchString(a) || a != stableUUID("x", "an@vinhyen.gov.vn") || a == b ||
		a == stableUUID("xan@vinhyen.gov.vn") {
		t.Errorf("UUIDs %s %s", a, b)
	}
}

// An address with characters XML escapes still gives a well-formed profile that carries it unchanged.
func TestProfileEscapesTheAddress(t *testing.T) {
	a, err := address.Parse(`"o'neil <&> co"@vinhyen.gov.vn`)
	if err != nil {
		t.Fatal(err)
	}
	body := encodePlist(appleProfile(a, settingsFor(publicHost)))
	d := xml.NewDecoder(bytes.NewReader(body))
	found := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("profile is not well-formed XML: %v\n%s", err, body)
		}
		if cd, ok := tok.(xml.CharData); ok && string(cd) == a.Key() {
			found = true
		}
	}
	if !found {
		t.Errorf("profile does not carry %s:\n%s", a.Key(), body)
	}
}

// On port 443 the URLs have no port; without an HTTPS listener there is no address book and no v2 answer.
func TestHTTPSPort(t *testing.T) {
	s := settingsFor(publicHost)
	if got := s.addressBookURL(); got != "https://mail.vinhyen.gov.vn/carddav/" {
		t.Errorf("address book at %q", got)
	}
	noHTTPS := publicHost
	noHTTPS.HTTPS = 0
	h := newTestHandler(noHTTPS)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/mail/config-v1.1.xml?emailaddress=an@vinhyen.gov.vn", nil))
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "addressBook") {
		t.Errorf("without HTTPS: %d\n%s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET",
		"/autodiscover/autodiscover.json?Email=an@vinhyen.gov.vn&Protocol=AutodiscoverV1", nil))
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"ErrorCode":"NotOffered"`) {
		t.Errorf("v2 without HTTPS: %d %s", rec.Code, rec.Body)
	}
}

// A store that cannot be read is a 500, never settings or a 404 that would send a client elsewhere.
func TestDirectoryFailure(t *testing.T) {
	rec := httptest.NewRecorder()
	newTestHandler(publicHost).ServeHTTP(rec,
		httptest.NewRequest("GET", "/mail/config-v1.1.xml?emailaddress=an@broken.gov.vn", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("store failure: %d %s", rec.Code, rec.Body)
	}
}
