package server

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/admin"
)

// What the client autoconfiguration answers, read the way each client reads it: the tests decode every format
// into these views of their own, so that a change in how the server writes one shows here.

// offer is one server a client was told to use.
type offer struct {
	Proto       string // "imap" or "smtp"
	Host        string
	Port        int
	ImplicitTLS bool // otherwise STARTTLS
	Login       string
}

type thunderbirdView struct {
	XMLName  xml.Name `xml:"clientConfig"`
	Version  string   `xml:"version,attr"`
	Provider struct {
		ID          string         `xml:"id,attr"`
		Domain      string         `xml:"domain"`
		DisplayName string         `xml:"displayName"`
		Incoming    []mozillaEntry `xml:"incomingServer"`
		Outgoing    []mozillaEntry `xml:"outgoingServer"`
	} `xml:"emailProvider"`
	AddressBook struct {
		Type           string `xml:"type,attr"`
		Username       string `xml:"username"`
		Authentication string `xml:"authentication"`
		ServerURL      string `xml:"serverURL"`
	} `xml:"addressBook"`
}

type mozillaEntry struct {
	Type           string `xml:"type,attr"`
	Hostname       string `xml:"hostname"`
	Port           int    `xml:"port"`
	SocketType     string `xml:"socketType"`
	Username       string `xml:"username"`
	Authentication string `xml:"authentication"`
}

// offers lists the servers of a Thunderbird answer; it fails the test on a socket type or authentication that
// would not work here.
func (v thunderbirdView) offers(t *testing.T) []offer {
	t.Helper()
	var out []offer
	for _, e := range append(slices.Clone(v.Provider.Incoming), v.Provider.Outgoing...) {
		if e.Authentication != "password-cleartext" || (e.SocketType != "SSL" && e.SocketType != "STARTTLS") {
			t.Errorf("Thunderbird entry %+v: want password-cleartext over SSL or STARTTLS", e)
		}
		out = append(out, offer{Proto: e.Type, Host: e.Hostname, Port: e.Port, ImplicitTLS: e.SocketType == "SSL",
			Login: e.Username})
	}
	return out
}

const (
	outlookResponseSchema = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
	outlookRequest        = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request><EMailAddress>%s</EMailAddress><AcceptableResponseSchema>%s</AcceptableResponseSchema></Request>
</Autodiscover>`
)

type outlookView struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response struct {
		XMLName xml.Name
		Account struct {
			AccountType string `xml:"AccountType"`
			Action      string `xml:"Action"`
			Protocol    []struct {
				Type, Server, LoginName, DomainRequired, SPA, SSL, Encryption, AuthRequired string
				Port                                                                        int
			} `xml:"Protocol"`
		} `xml:"Account"`
		Error struct {
			ErrorCode int
			Message   string
		} `xml:"Error"`
	} `xml:"Response"`
}

// offers lists the servers of an Outlook answer: SSL on is TLS from the start, Encryption TLS is STARTTLS.
func (v outlookView) offers(t *testing.T) []offer {
	t.Helper()
	var out []offer
	for _, p := range v.Response.Account.Protocol {
		implicit := p.SSL == "on" && p.Encryption == "SSL"
		if !implicit && !(p.SSL == "off" && p.Encryption == "TLS") || p.SPA != "off" || p.AuthRequired != "on" ||
			p.DomainRequired != "off" {
			t.Errorf("Outlook protocol %+v: want SSL on/SSL or off/TLS, SPA off, AuthRequired on, DomainRequired off", p)
		}
		out = append(out, offer{Proto: strings.ToLower(p.Type), Host: p.Server, Port: p.Port, ImplicitTLS: implicit,
			Login: p.LoginName})
	}
	return out
}

// wantOffers is what a client on this machine must be told: implicit TLS first, then STARTTLS, for IMAP and then
// submission, at the configured host name and the ports the listeners bound.
func (ts *testServer) wantOffers(login string) []offer {
	port := func(name string) int { n, _ := strconv.Atoi(ts.port(name)); return n }
	host := ts.cfg.Hostname
	return []offer{
		{"imap", host, port("imaps"), true, login}, {"imap", host, port("imap"), false, login},
		{"smtp", host, port("submissions"), true, login}, {"smtp", host, port("submission"), false, login},
	}
}

// webClient talks to the HTTP and HTTPS listeners, trusting the server's certificate, and does not follow redirects.
func (ts *testServer) webClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: ts.clientTLS()},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// bases are the plain and the TLS listener's URLs.
func (ts *testServer) bases() []string {
	return []string{"http://127.0.0.1:" + ts.port("http"), "https://127.0.0.1:" + ts.port("https")}
}

type webAnswer struct {
	status int
	header http.Header
	body   []byte
}

// web sends one request; host, when not empty, is the Host header (the name the client asked for).
func (ts *testServer) web(method, url, host, body string) webAnswer {
	ts.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/xml")
	}
	resp, err := ts.webClient().Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return webAnswer{resp.StatusCode, resp.Header, b}
}

func decodeXML[T any](t *testing.T, a webAnswer) T {
	t.Helper()
	var v T
	if err := xml.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("answer %d is not the XML expected: %v\n%s", a.status, err, a.body)
	}
	return v
}

func (ts *testServer) thunderbird(base, pathAndQuery, host string) thunderbirdView {
	ts.t.Helper()
	a := ts.web("GET", base+pathAndQuery, host, "")
	if a.status != http.StatusOK || !strings.Contains(a.header.Get("Content-Type"), "xml") {
		ts.t.Fatalf("GET %s (Host %q): %d %s\n%s", pathAndQuery, host, a.status, a.header.Get("Content-Type"), a.body)
	}
	return decodeXML[thunderbirdView](ts.t, a)
}

func (ts *testServer) outlook(base, path, addr string) outlookView {
	ts.t.Helper()
	a := ts.web("POST", base+path, "", fmt.Sprintf(outlookRequest, addr, outlookResponseSchema))
	if a.status != http.StatusOK {
		ts.t.Fatalf("POST %s for %s: %d\n%s", path, addr, a.status, a.body)
	}
	return decodeXML[outlookView](ts.t, a)
}

var thunderbirdPaths = []string{"/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml",
	"/.well-known/mail-v1.xml"}

// Thunderbird gets the same answer on every path, over HTTP and HTTPS, with ?emailaddress= or with only the Host
// header autoconfig.DOMAIN: the settings of the domain, with the placeholder for the address as the login.
func TestAutoconfigThunderbird(t *testing.T) {
	ts := startServer(t)
	var first []byte
	for _, base := range ts.bases() {
		for _, path := range thunderbirdPaths {
			for _, ask := range []struct{ query, host string }{
				{"?emailaddress=an@example.gov.vn", ""},
				{"", "autoconfig.example.gov.vn"},
				{"", "AutoConfig.Example.gov.vn:8080"},
				{"", "example.gov.vn"}, // https://DOMAIN/.well-known/autoconfig/…
				{"?emailaddress=" + url.QueryEscape("Binh@EXAMPLE.gov.vn"), "autoconfig.other-agency.gov.vn"},
			} {
				a := ts.web("GET", base+path+ask.query, ask.host, "")
				if a.status != http.StatusOK {
					t.Fatalf("GET %s%s%s (Host %q): %d\n%s", base, path, ask.query, ask.host, a.status, a.body)
				}
				if first == nil {
					first = a.body
				} else if !bytes.Equal(a.body, first) {
					t.Errorf("GET %s%s%s (Host %q) answers differently:\n%s\nfirst answer:\n%s", base, path, ask.query,
						ask.host, a.body, first)
				}
			}
		}
	}
	v := decodeXML[thunderbirdView](t, webAnswer{body: first})
	p := v.Provider
	if v.Version != "1.1" || p.ID != "example.gov.vn" || p.Domain != "example.gov.vn" || p.DisplayName == "" {
		t.Errorf("clientConfig version %q, emailProvider id %q domain %q displayName %q", v.Version, p.ID, p.Domain,
			p.DisplayName)
	}
	if got, want := v.offers(t), ts.wantOffers("%EMAILADDRESS%"); !slices.Equal(got, want) {
		t.Errorf("servers\n got %+v\nwant %+v", got, want)
	}
	wantBook := "https://" + ts.cfg.Hostname + ":" + ts.port("https") + "/carddav/"
	if b := v.AddressBook; b.Type != "carddav" || b.ServerURL != wantBook || b.Username != "%EMAILADDRESS%" ||
		b.Authentication != "http-basic" {
		t.Errorf("addressBook %+v, want carddav at %s", b, wantBook)
	}
	for _, bad := range []struct {
		query, host string
		status      int
	}{
		{"?emailaddress=an@other-agency.gov.vn", "", http.StatusNotFound},
		{"", "autoconfig.other-agency.gov.vn", http.StatusNotFound},
		{"?emailaddress=an@example.gov.vn.", "", http.StatusBadRequest},
		{"?emailaddress=khong-phai-dia-chi", "", http.StatusBadRequest},
		{"", "127.0.0.1", http.StatusBadRequest},
	} {
		if a := ts.web("GET", ts.bases()[0]+thunderbirdPaths[0]+bad.query, bad.host, ""); a.status != bad.status ||
			bytes.Contains(a.body, []byte("clientConfig")) {
			t.Errorf("GET %s (Host %q): %d, want %d\n%s", bad.query, bad.host, a.status, bad.status, a.body)
		}
	}
}

// Outlook's POX request is answered on any case of its path, over HTTP and HTTPS, with IMAP and SMTP, implicit TLS
// first, the address as the login; errors have Autodiscover's error format or plain HTTP statuses.
func TestAutoconfigOutlookPOX(t *testing.T) {
	ts := startServer(t)
	for _, base := range ts.bases() {
		for _, path := range []string{"/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml",
			"/AUTODISCOVER/AutoDiscover.XML"} {
			v := ts.outlook(base, path, "Binh@Example.GOV.vn")
			acc := v.Response.Account
			if v.Response.XMLName.Space != outlookResponseSchema || acc.AccountType != "email" || acc.Action != "settings" {
				t.Errorf("%s: Response %v, AccountType %q, Action %q", path, v.Response.XMLName, acc.AccountType, acc.Action)
			}
			if got, want := v.offers(t), ts.wantOffers("binh@example.gov.vn"); !slices.Equal(got, want) {
				t.Errorf("%s: protocols\n got %+v\nwant %+v", path, got, want)
			}
		}
	}
	post := func(addr, schema string) webAnswer {
		return ts.web("POST", ts.bases()[1]+"/autodiscover/autodiscover.xml", "", fmt.Sprintf(outlookRequest, addr, schema))
	}
	if a := post("an@other-agency.gov.vn", outlookResponseSchema); a.status != http.StatusNotFound {
		t.Errorf("unknown domain: %d, want 404\n%s", a.status, a.body)
	}
	for _, c := range []struct {
		addr, schema string
		status, code int
	}{
		{"khong-phai-dia-chi", outlookResponseSchema, http.StatusBadRequest, 600},
		// ActiveSync's schema: a provider not served here.
		{"an@example.gov.vn", "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006",
			http.StatusOK, 601},
	} {
		a := post(c.addr, c.schema)
		if v := decodeXML[outlookView](t, a); a.status != c.status || v.Response.Error.ErrorCode != c.code ||
			len(v.Response.Account.Protocol) != 0 {
			t.Errorf("%s for %s: %d, error %d, want %d and %d\n%s", c.addr, c.schema, a.status,
				v.Response.Error.ErrorCode, c.status, c.code, a.body)
		}
	}
	pox := ts.bases()[0] + "/autodiscover/autodiscover.xml"
	if a := ts.web("POST", pox, "", "<Autodiscover>"+strings.Repeat(" ", 64<<10)); a.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a 64 KiB body: %d, want 413", a.status)
	}
	if a := ts.web("POST", pox, "", "<Autodiscover><Request>"); a.status != http.StatusBadRequest {
		t.Errorf("a cut-off body: %d, want 400", a.status)
	}
}

// Autodiscover v2 (JSON), in its query and path forms, points at the POX endpoint on the HTTPS listener, and says
// honestly that no other protocol is spoken here.
func TestAutoconfigOutlookJSON(t *testing.T) {
	ts := startServer(t)
	want := `{"Protocol":"AutodiscoverV1","Url":"https://` + ts.cfg.Hostname + ":" + ts.port("https") +
		`/autodiscover/autodiscover.xml"}`
	for _, base := range ts.bases() {
		for _, pq := range []string{
			"/autodiscover/autodiscover.json?Email=an%40example.gov.vn&Protocol=AutodiscoverV1&RedirectCount=1",
			"/autodiscover/autodiscover.json/v1.0/an@example.gov.vn?Protocol=AutodiscoverV1",
			"/Autodiscover/Autodiscover.json/v1.0/Binh%40Example.gov.vn?Protocol=autodiscoverv1",
		} {
			a := ts.web("GET", base+pq, "", "")
			var got, wantJSON any
			json.Unmarshal([]byte(want), &wantJSON)
			if err := json.Unmarshal(a.body, &got); err != nil || a.status != http.StatusOK ||
				fmt.Sprint(got) != fmt.Sprint(wantJSON) || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
				t.Errorf("GET %s: %d %s %v, want %s", pq, a.status, a.body, err, want)
			}
		}
	}
	for pq, want := range map[string]struct {
		status int
		code   string
	}{
		"/autodiscover/autodiscover.json/v1.0/an@example.gov.vn?Protocol=ActiveSync":    {400, "InvalidProtocol"},
		"/autodiscover/autodiscover.json?Email=an@example.gov.vn&Protocol=Ews":          {400, "InvalidProtocol"},
		"/autodiscover/autodiscover.json?Email=an@example.gov.vn":                       {400, "InvalidProtocol"},
		"/autodiscover/autodiscover.json?Email=an@other.gov.vn&Protocol=AutodiscoverV1": {404, "DomainNotFound"},
		"/autodiscover/autodiscover.json/v1.0/sai?Protocol=AutodiscoverV1":              {400, "InvalidEmailAddress"},
	} {
		a := ts.web("GET", ts.bases()[1]+pq, "", "")
		var e struct{ ErrorCode, ErrorMessage string }
		if err := json.Unmarshal(a.body, &e); err != nil || a.status != want.status || e.ErrorCode != want.code ||
			e.ErrorMessage == "" {
			t.Errorf("GET %s: %d %s, want %d %s", pq, a.status, a.body, want.status, want.code)
		}
	}
}

// The Apple profile holds the mail account and the address book, with the address as user name and no password;
// its identifiers depend on the address alone. The page sends a typed address to its profile.
func TestAutoconfigAppleProfile(t *testing.T) {
	ts := startServer(t)
	profile := func(base, addr string) (map[string]any, []byte) {
		t.Helper()
		a := ts.web("GET", base+"/mail/apple/"+addr+".mobileconfig", "", "")
		if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/x-apple-aspen-config" {
			t.Fatalf("profile of %s: %d %s\n%s", addr, a.status, a.header.Get("Content-Type"), a.body)
		}
		return decodePlist(t, a.body), a.body
	}
	top, raw := profile(ts.bases()[1], "an@example.gov.vn")
	port := func(name string) int { n, _ := strconv.Atoi(ts.port(name)); return n }
	host := ts.cfg.Hostname
	wantTop := map[string]any{"PayloadType": "Configuration", "PayloadVersion": 1, "PayloadRemovalDisallowed": false}
	checkKeys(t, "profile", top, wantTop)
	content, _ := top["PayloadContent"].([]any)
	if len(content) != 2 {
		t.Fatalf("PayloadContent has %d payloads, want mail and address book:\n%s", len(content), raw)
	}
	mail, _ := content[0].(map[string]any)
	checkKeys(t, "mail payload", mail, map[string]any{"PayloadType": "com.apple.mail.managed",
		"EmailAccountType": "EmailTypeIMAP", "EmailAddress": "an@example.gov.vn", "PayloadVersion": 1,
		"IncomingMailServerHostName": host, "IncomingMailServerPortNumber": port("imaps"),
		"IncomingMailServerUseSSL": true, "IncomingMailServerUsername": "an@example.gov.vn",
		"IncomingMailServerAuthentication": "EmailAuthPassword",
		"OutgoingMailServerHostName":       host, "OutgoingMailServerPortNumber": port("submissions"),
		"OutgoingMailServerUseSSL": true, "OutgoingMailServerUsername": "an@example.gov.vn",
		"OutgoingMailServerAuthentication": "EmailAuthPassword", "OutgoingPasswordSameAsIncomingPassword": true})
	book, _ := content[1].(map[string]any)
	checkKeys(t, "address-book payload", book, map[string]any{"PayloadType": "com.apple.carddav.account",
		"CardDAVHostName": host, "CardDAVPort": port("https"), "CardDAVUseSSL": true,
		"CardDAVUsername": "an@example.gov.vn", "CardDAVPrincipalURL": "/carddav/", "PayloadVersion": 1})
	var ids []string
	for _, d := range []map[string]any{top, mail, book} {
		ids = append(ids, fmt.Sprint(d["PayloadIdentifier"]), fmt.Sprint(d["PayloadUUID"]))
	}
	if slices.Contains(ids, "<nil>") || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != len(ids) {
		t.Errorf("identifiers and UUIDs missing or shared: %v", ids)
	}
	if keys := plistKeys(top); slices.ContainsFunc(keys, func(k string) bool {
		return strings.Contains(k, "Password") && k != "OutgoingPasswordSameAsIncomingPassword"
	}) {
		t.Errorf("the profile has a password key: %v", keys)
	}
	// The same address, however written and over either listener, gives the same profile; another address others.
	if _, again := profile(ts.bases()[0], "An%40Example.GOV.vn"); !bytes.Equal(again, raw) {
		t.Errorf("the profile changes between requests:\n%s\n%s", raw, again)
	}
	other, _ := profile(ts.bases()[1], "binh@example.gov.vn")
	if other["PayloadUUID"] == top["PayloadUUID"] || other["PayloadIdentifier"] == top["PayloadIdentifier"] {
		t.Errorf("two addresses share a profile UUID or identifier: %v %v", other["PayloadUUID"], other["PayloadIdentifier"])
	}
	for addr, status := range map[string]int{"an@other-agency.gov.vn": 404, "khong-phai-dia-chi": 400} {
		if a := ts.web("GET", ts.bases()[1]+"/mail/apple/"+addr+".mobileconfig", "", ""); a.status != status {
			t.Errorf("profile of %s: %d, want %d", addr, a.status, status)
		}
	}
	if a := ts.web("GET", ts.bases()[1]+"/mail/apple/an@example.gov.vn.xml", "", ""); a.status != http.StatusNotFound {
		t.Errorf("a profile path without .mobileconfig: %d, want 404", a.status)
	}
}

func TestAutoconfigApplePage(t *testing.T) {
	ts := startServer(t)
	page := ts.web("GET", ts.bases()[1]+"/mail/apple", "", "")
	body := string(page.body)
	csp := page.header.Get("Content-Security-Policy")
	vi, en := strings.Index(body, "Cài đặt thư công vụ trên iPhone"), strings.Index(body, "Official mail on iPhone")
	if page.status != http.StatusOK || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, `<form method="get" action="/mail/apple">`) ||
		!strings.Contains(body, `name="address"`) || strings.Contains(strings.ToLower(body), "<script") ||
		vi < 0 || en < vi || !strings.Contains(body, "không được ký") {
		t.Errorf("page: %d %s\n%s", page.status, page.header.Get("Content-Type"), body)
	}
	_, style, _ := strings.Cut(body, "<style>")
	style, _, _ = strings.Cut(style, "</style>")
	styleHash := sha256.Sum256([]byte(style))
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") ||
		!strings.Contains(csp, "style-src 'sha256-"+base64.StdEncoding.EncodeToString(styleHash[:])+"'") {
		t.Errorf("Content-Security-Policy %q does not allow exactly the page's style", csp)
	}
	a := ts.web("GET", ts.bases()[1]+"/mail/apple?address="+url.QueryEscape(" Chi@Example.gov.vn "), "", "")
	loc := a.header.Get("Location")
	if a.status != http.StatusSeeOther || loc != "/mail/apple/chi@example.gov.vn.mobileconfig" {
		t.Fatalf("typed address: %d to %q", a.status, loc)
	}
	if p := ts.web("GET", ts.bases()[1]+loc, "", ""); p.status != http.StatusOK ||
		decodePlist(t, p.body)["PayloadType"] != "Configuration" {
		t.Errorf("the page's redirect leads to %d", p.status)
	}
	for typed, want := range map[string]struct {
		status int
		text   string
	}{
		"khong-phai-dia-chi":     {http.StatusBadRequest, "Không phải địa chỉ thư"},
		"an@other-agency.gov.vn": {http.StatusNotFound, "không phục vụ tên miền"},
		`"><script>x</script>@x`: {http.StatusBadRequest, "&#34;&gt;&lt;script&gt;"},
	} {
		a := ts.web("GET", ts.bases()[0]+"/mail/apple?address="+url.QueryEscape(typed), "", "")
		if body := string(a.body); a.status != want.status || !strings.Contains(body, want.text) ||
			strings.Contains(body, "<script") {
			t.Errorf("typed %q: %d, want %d with %q\n%s", typed, a.status, want.status, want.text, a.body)
		}
	}
}

// checkKeys compares the listed keys of a plist dictionary.
func checkKeys(t *testing.T, what string, d map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s: %s = %#v, want %#v", what, k, d[k], v)
		}
	}
}

// plistKeys lists every key of a decoded plist, nested ones included.
func plistKeys(v any) []string {
	var keys []string
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			keys = append(append(keys, k), plistKeys(sub)...)
		}
	case []any:
		for _, sub := range v {
			keys = append(keys, plistKeys(sub)...)
		}
	}
	return keys
}

// decodePlist reads an XML property list whose top level is a dictionary: dict, array, string, integer, true and
// false, as a configuration profile has.
func decodePlist(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("no <plist> element: %v\n%s", err, b)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "plist" {
			break
		}
	}
	v, err := plistValue(d)
	m, ok := v.(map[string]any)
	if err != nil || !ok {
		t.Fatalf("plist: %v (top level %T)\n%s", err, v, b)
	}
	return m
}

// plistValue reads the next value; it returns nil at the end of the enclosing element.
func plistValue(d *xml.Decoder) (any, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.EndElement:
			return nil, nil
		case xml.StartElement:
			return plistElement(d, tok)
		}
	}
}

func plistElement(d *xml.Decoder, se xml.StartElement) (any, error) {
	switch se.Name.Local {
	case "dict":
		m := map[string]any{}
		for {
			k, err := plistValue(d)
			if err != nil || k == nil {
				return m, err
			}
			key, ok := k.(plistKey)
			if !ok {
				return nil, fmt.Errorf("a dict entry starts with %v, not a key", k)
			}
			if m[string(key)], err = plistValue(d); err != nil {
				return nil, err
			}
		}
	case "array":
		var a []any
		for {
			v, err := plistValue(d)
			if err != nil || v == nil {
				return a, err
			}
			a = append(a, v)
		}
	case "true", "false":
		return se.Name.Local == "true", d.Skip()
	}
	var text string
	if err := d.DecodeElement(&text, &se); err != nil {
		return nil, err
	}
	switch se.Name.Local {
	case "key":
		return plistKey(text), nil
	case "string":
		return text, nil
	case "integer":
		return strconv.Atoi(text)
	}
	return nil, fmt.Errorf("unknown plist element <%s>", se.Name.Local)
}

type plistKey string

// From only what Thunderbird's and Outlook's answers say — host, port, TLS mode, login — a client logs in over
// IMAP and sends a message over submission, at every server each lists.
func TestAutoconfigAnswersAreEnoughToLogIn(t *testing.T) {
	ts := startServer(t)
	const user = "an@example.gov.vn"
	tb := ts.thunderbird(ts.bases()[0], thunderbirdPaths[0]+"?emailaddress="+user, "")
	sources := map[string][]offer{"Thunderbird": tb.offers(t),
		"Outlook": ts.outlook(ts.bases()[1], "/Autodiscover/Autodiscover.xml", user).offers(t)}
	sent := 0
	for source, offers := range sources {
		if len(offers) != 4 {
			t.Fatalf("%s lists %d servers, want 4: %+v", source, len(offers), offers)
		}
		for _, o := range offers {
			o.Login = strings.ReplaceAll(o.Login, "%EMAILADDRESS%", user)
			switch o.Proto {
			case "imap":
				ts.imapLoginAt(source, o)
			case "smtp":
				ts.submitAt(source, o, fmt.Sprintf("From: %s\r\nTo: chi@example.gov.vn\r\nSubject: %s %d\r\n\r\nThử.\r\n",
					o.Login, source, o.Port))
				sent++
			default:
				t.Errorf("%s: unknown protocol %q", source, o.Proto)
			}
		}
	}
	if got := len(fetchAll(t, ts.imapLogin("chi@example.gov.vn", nil), "INBOX")); got != sent || sent != 4 {
		t.Errorf("chi's INBOX has %d messages, want the %d sent (4)", got, sent)
	}
}

// dialTarget checks that an answer names the configured host, and reaches it: the name does not resolve in
// tests, so the client dials loopback at the given port and verifies the certificate for the given name.
func (ts *testServer) dialTarget(source string, o offer) (string, *tls.Config) {
	ts.t.Helper()
	if o.Host != ts.cfg.Hostname {
		ts.t.Fatalf("%s names host %q, want the configured %q", source, o.Host, ts.cfg.Hostname)
	}
	cfg := ts.clientTLS()
	cfg.ServerName = o.Host
	return "127.0.0.1:" + strconv.Itoa(o.Port), cfg
}

func (ts *testServer) imapLoginAt(source string, o offer) {
	ts.t.Helper()
	addr, tlsConfig := ts.dialTarget(source, o)
	dial := imapclient.DialStartTLS
	if o.ImplicitTLS {
		dial = imapclient.DialTLS
	}
	c, err := dial(addr, &imapclient.Options{TLSConfig: tlsConfig})
	if err != nil {
		ts.t.Fatalf("%s: IMAP %+v: %v", source, o, err)
	}
	defer c.Close()
	if err := c.Login(o.Login, testPassword).Wait(); err != nil {
		ts.t.Errorf("%s: IMAP login at %+v: %v", source, o, err)
	}
}

func (ts *testServer) submitAt(source string, o offer, msg string) {
	ts.t.Helper()
	addr, tlsConfig := ts.dialTarget(source, o)
	dial := gosmtp.DialStartTLS
	if o.ImplicitTLS {
		dial = gosmtp.DialTLS
	}
	c, err := dial(addr, tlsConfig)
	if err != nil {
		ts.t.Fatalf("%s: SMTP %+v: %v", source, o, err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", o.Login, testPassword)); err != nil {
		ts.t.Fatalf("%s: SMTP AUTH at %+v: %v", source, o, err)
	}
	if err := c.SendMail(o.Login, []string{"chi@example.gov.vn"}, strings.NewReader(msg)); err != nil {
		ts.t.Errorf("%s: sending at %+v: %v", source, o, err)
	}
}

// asRemoteClient serves h as if every request came from another machine (192.0.2.7), over real HTTP on loopback.
func asRemoteClient(t *testing.T, h http.Handler) string {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = "192.0.2.7:50000"
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(web.Close)
	return web.URL
}

// With public listeners, every form tells a client elsewhere exactly the host and ports that 'mailserver domain
// dns' publishes for the same configuration. The server's listeners are as Start records them for that
// configuration (a wildcard address binds [::]).
func TestAutoconfigAgreesWithDomainDNS(t *testing.T) {
	ts := startServer(t) // for its store, which serves example.gov.vn
	const domain = "example.gov.vn"
	pub := ts.cfg
	pub.SMTP.Submission, pub.SMTP.Submissions = ":587", "0.0.0.0:465"
	pub.IMAP.Listen, pub.IMAP.ListenTLS, pub.HTTP.ListenTLS = "[::]:143", ":993", ":8443"
	bound := map[string]net.Addr{}
	for name, port := range map[string]int{"submission": 587, "submissions": 465, "imap": 143, "imaps": 993,
		"https": 8443} {
		bound[name] = &net.TCPAddr{IP: net.IPv6unspecified, Port: port}
	}
	s := &Server{cfg: pub, log: ts.log, store: ts.Store(), addrs: bound}
	base := asRemoteClient(t, s.newHTTPServer(http.NotFoundHandler(), http.NotFoundHandler()).Handler)

	published := map[string]string{} // SRV owner name → "priority weight port target."
	for _, r := range admin.DomainRecords(domain, admin.MailHostFor(pub), nil) {
		if r.Type == "SRV" {
			published[strings.TrimSuffix(r.Name, ".")] = r.Data
		}
	}
	srvOf := func(service string, port int, host string) (got, want string) {
		return fmt.Sprintf("0 1 %d %s.", port, host), published[service+"._tcp."+domain]
	}
	services := map[offer]string{{Proto: "imap", ImplicitTLS: true}: "_imaps", {Proto: "imap"}: "_imap",
		{Proto: "smtp", ImplicitTLS: true}: "_submissions", {Proto: "smtp"}: "_submission"}
	checkOffers := func(source string, offers []offer) {
		if len(offers) != len(services) {
			t.Errorf("%s lists %d servers, want %d: %+v", source, len(offers), len(services), offers)
		}
		for _, o := range offers {
			service := services[offer{Proto: o.Proto, ImplicitTLS: o.ImplicitTLS}]
			if got, want := srvOf(service, o.Port, o.Host); got != want {
				t.Errorf("%s offers %+v: %s SRV %q, published %q", source, o, service, got, want)
			}
		}
	}
	checkOffers("Thunderbird", ts.thunderbird(base, thunderbirdPaths[0]+"?emailaddress=an@"+domain, "").offers(t))
	checkOffers("Outlook", ts.outlook(base, "/autodiscover/autodiscover.xml", "an@"+domain).offers(t))

	var v2 struct{ URL string }
	v2Query := "/autodiscover/autodiscover.json?Email=an@" + domain + "&Protocol=AutodiscoverV1"
	json.Unmarshal(ts.web("GET", base+v2Query, "", "").body, &v2)
	u, err := url.Parse(v2.URL)
	port, _ := strconv.Atoi(u.Port())
	if got, want := srvOf("_autodiscover", port, u.Hostname()); err != nil || got != want ||
		u.Path != "/autodiscover/autodiscover.xml" {
		t.Errorf("Autodiscover v2 URL %q: SRV %q, published %q", v2.URL, got, want)
	}

	a := ts.web("GET", base+"/mail/apple/an@"+domain+".mobileconfig", "", "")
	content, _ := decodePlist(t, a.body)["PayloadContent"].([]any)
	if len(content) != 2 {
		t.Fatalf("profile payloads: %d, want 2\n%s", len(content), a.body)
	}
	mail, book := content[0].(map[string]any), content[1].(map[string]any)
	for _, c := range []struct{ what, service, host, port string }{
		{"incoming", "_imaps", "IncomingMailServerHostName", "IncomingMailServerPortNumber"},
		{"outgoing", "_submissions", "OutgoingMailServerHostName", "OutgoingMailServerPortNumber"},
		{"address book", "_autodiscover", "CardDAVHostName", "CardDAVPort"}, // the HTTPS listener
	} {
		d := mail
		if c.service == "_autodiscover" {
			d = book
		}
		port, _ := d[c.port].(int)
		host, _ := d[c.host].(string)
		if got, want := srvOf(c.service, port, host); got != want {
			t.Errorf("Apple profile %s: SRV %q, published %q", c.what, got, want)
		}
	}
}

// Listeners on loopback only are offered to clients on this machine alone: a client elsewhere, to whom the
// test server (every listener on 127.0.0.1) offers nothing, gets 404 from every form rather than settings that
// cannot work.
func TestAutoconfigOffersLoopbackListenersOnlyToLoopback(t *testing.T) {
	ts := startServer(t)
	base := asRemoteClient(t, ts.http.Handler)
	const user = "an@example.gov.vn"
	for _, req := range []struct{ method, path, body string }{
		{"GET", thunderbirdPaths[0] + "?emailaddress=" + user, ""},
		{"POST", "/autodiscover/autodiscover.xml", fmt.Sprintf(outlookRequest, user, outlookResponseSchema)},
		{"GET", "/autodiscover/autodiscover.json/v1.0/" + user + "?Protocol=AutodiscoverV1", ""},
		{"GET", "/mail/apple/" + user + ".mobileconfig", ""},
	} {
		a := ts.web(req.method, base+req.path, "", req.body)
		if a.status != http.StatusNotFound || bytes.Contains(a.body, []byte(ts.port("imaps"))) {
			t.Errorf("%s %s from another machine: %d, want 404\n%s", req.method, req.path, a.status, a.body)
		}
	}
	// The same server, asked from this machine, offers them (the other tests' clients are all local).
	if got := ts.thunderbird(ts.bases()[0], thunderbirdPaths[0]+"?emailaddress="+user, "").offers(t); len(got) != 4 {
		t.Errorf("a local client is offered %+v", got)
	}
}
