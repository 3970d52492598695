package carddav

import (
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-webdav"
	gocarddav "github.com/emersion/go-webdav/carddav"

	"mailserver/internal/auth"
	"mailserver/internal/store"
)

const (
	testDomain   = "vinhyen.gov.vn"
	testPassword = "Mật-khẩu-2026"
	testUser     = "an@" + testDomain
)

// testEnv is a CardDAV server over a real store and the real authenticator, served over TLS as in production.
type testEnv struct {
	st     *store.Store
	srv    *httptest.Server
	client *http.Client // trusts the server, follows no redirects
	hash   string       // testPassword, hashed cheaply
}

// newTestEnv builds the directory of a city People's Committee:
//
//	ubnd                      UBND thành phố         vanthu@ (shared, "Văn thư UBND")
//	ubnd/phong-noi-vu         Phòng Nội vụ           an@, cuong@ (disabled)
//	ubnd/van-phong            Văn phòng
//	ubnd/van-phong/to-tin-hoc (no name)              binh@
//	(no unit)                                        dung@ (no name), group lanh-dao@
func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "mail.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hash, err := auth.Hasher{Time: 1, MemoryKiB: 1024, Threads: 1}.Hash(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{st: st, hash: hash}
	must(t, st.AddDomain(testDomain))
	for _, u := range []struct{ path, name string }{
		{"ubnd", "UBND thành phố"},
		{"ubnd/phong-noi-vu", "Phòng Nội vụ"},
		{"ubnd/van-phong", "Văn phòng"},
		{"ubnd/van-phong/to-tin-hoc", ""},
	} {
		_, err := st.AddUnit(u.path, u.name)
		must(t, err)
	}
	env.addAccount(t, store.Account{Address: testUser, Name: "Nguyễn Văn An", Unit: "ubnd/phong-noi-vu"})
	env.addAccount(t, store.Account{Address: "binh@" + testDomain, Name: "Trần Thị Ngọc Bình", Unit: "ubnd/van-phong/to-tin-hoc"})
	env.addAccount(t, store.Account{Address: "cuong@" + testDomain, Name: "Lê Quốc Cường", Unit: "ubnd/phong-noi-vu", Disabled: true})
	env.addAccount(t, store.Account{Address: "dung@" + testDomain})
	_, err = st.AddShared(store.Account{Address: "vanthu@" + testDomain, Name: "Văn thư UBND", Unit: "ubnd"})
	must(t, err)
	_, err = st.AddGroup(store.Group{Address: "lanh-dao@" + testDomain, Name: "Lãnh đạo UBND"})
	must(t, err)

	authn := auth.NewAuthenticator(st, auth.NewThrottle(time.Now))
	env.srv = httptest.NewTLSServer(NewHandler(st, authn, slog.New(slog.NewTextHandler(t.Output(), nil))))
	t.Cleanup(env.srv.Close)
	env.client = env.srv.Client()
	env.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return env
}

func (env *testEnv) addAccount(t *testing.T, a store.Account) {
	t.Helper()
	a.PasswordHash = env.hash
	_, err := env.st.AddAccount(a)
	must(t, err)
}

// davClient returns go-webdav's CardDAV client for user, rooted at the context path.
func (env *testEnv) davClient(t *testing.T, user, password string) *gocarddav.Client {
	t.Helper()
	c, err := gocarddav.NewClient(webdav.HTTPClientWithBasicAuth(env.srv.Client(), user, password), env.srv.URL+ContextPath)
	must(t, err)
	return c
}

// do sends one request as testUser (or unauthenticated with user ""), returning the response and its body.
func (env *testEnv) do(t *testing.T, method, path, user string, header http.Header, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, env.srv.URL+path, strings.NewReader(body))
	must(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	if user != "" {
		req.SetBasicAuth(user, testPassword)
	}
	resp, err := env.client.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp, string(b)
}

// propfind sends a PROPFIND as testUser and parses the multistatus.
func (env *testEnv) propfind(t *testing.T, path, depth, body string) []davResponse {
	t.Helper()
	resp, text := env.do(t, "PROPFIND", path, testUser, http.Header{"Depth": {depth}, "Content-Type": {"application/xml"}}, body)
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("PROPFIND %s: %s\n%s", path, resp.Status, text)
	}
	return parseMultistatus(t, text)
}

// davResponse is one DAV:response, its properties by local name.
type davResponse struct {
	href  string
	props map[string]davProp
}

type davProp struct {
	status string // "200 OK", "404 Not Found"
	inner  string // inner XML
	text   string // character data
}

func parseMultistatus(t *testing.T, body string) []davResponse {
	t.Helper()
	var ms struct {
		Responses []struct {
			Href      string `xml:"DAV: href"`
			Propstats []struct {
				Prop struct {
					Props []struct {
						XMLName xml.Name
						Inner   string `xml:",innerxml"`
						Text    string `xml:",chardata"`
					} `xml:",any"`
				} `xml:"DAV: prop"`
				Status string `xml:"DAV: status"`
			} `xml:"DAV: propstat"`
		} `xml:"DAV: response"`
	}
	if err := xml.Unmarshal([]byte(body), &ms); err != nil {
		t.Fatalf("multistatus: %v\n%s", err, body)
	}
	var out []davResponse
	for _, r := range ms.Responses {
		dr := davResponse{href: r.Href, props: map[string]davProp{}}
		for _, ps := range r.Propstats {
			for _, p := range ps.Prop.Props {
				dr.props[p.XMLName.Local] = davProp{strings.TrimPrefix(ps.Status, "HTTP/1.1 "), p.Inner, p.Text}
			}
		}
		out = append(out, dr)
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fakeDirectory fails on demand.
type fakeDirectory struct {
	accounts []store.Account
	err      error
}

func (d *fakeDirectory) Accounts() ([]store.Account, error) { return d.accounts, d.err }
func (d *fakeDirectory) Units() ([]store.Unit, error)       { return nil, nil }
func (d *fakeDirectory) Groups() ([]store.Group, error)     { return nil, nil }

// fakeAuth accepts any password for account, or fails with err.
type fakeAuth struct {
	account store.Account
	err     error
}

func (a *fakeAuth) Authenticate(net.Addr, string, string) (store.Account, error) {
	return a.account, a.err
}

var errDiskOnFire = errors.New("read /var/lib/mail/mail.db: disk on fire")

// serve runs one request as testUser through h without a network.
func serve(h http.Handler, method, path string, body io.Reader) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, body)
	req.SetBasicAuth(testUser, testPassword)
	req.Header.Set("Depth", "0")
	req.Header.Set("Content-Type", "application/xml")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
