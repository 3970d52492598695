package ctl_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/auth"
	"mailserver/internal/ctl"
	"mailserver/internal/store"
	"mailserver/internal/testlog"
)

const goodPassword = "Mat-khau-2024"

// testServer is a control socket served in-process by a real admin.Service on a store in t.TempDir.
type testServer struct {
	path  string
	store *store.Store
	logs  *testlog.Buffer
}

// newTestServer starts Serve and stops it (checking that it returns nil) at cleanup.
func newTestServer(t *testing.T) *testServer {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "mail.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // after Serve has returned: cleanups run last first
	ts := &testServer{path: filepath.Join(dir, "ctl.sock"), store: st, logs: &testlog.Buffer{}}
	ln, err := ctl.Listen(ts.path)
	if err != nil {
		t.Fatal(err)
	}
	svc := admin.New(st, admin.WithHasher(auth.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}))
	logger := slog.New(slog.NewTextHandler(ts.logs, nil))
	ctl.StartServe(t, func(ctx context.Context) error { return ctl.Serve(ctx, ln, svc, logger) })
	return ts
}

func (ts *testServer) dial(t *testing.T) *ctl.Client {
	t.Helper()
	c, err := ctl.Dial(ts.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawCall sends lines on one connection and returns the response lines.
func rawCall(t *testing.T, path string, lines ...string) []string {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	var out []string
	for _, l := range lines {
		if _, err := conn.Write([]byte(l + "\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the answer to %.60q: %v", l, err)
		}
		out = append(out, strings.TrimSuffix(resp, "\n"))
	}
	return out
}

func TestSocketMode(t *testing.T) {
	ts := newTestServer(t)
	fi, err := os.Stat(ts.path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode = %v, want a socket with 0660 (the service's group may use it)", fi.Mode())
	}
}

func TestListenReplacesStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctl.sock")
	// A server that died leaves its socket file behind.
	old, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	old.(*net.UnixListener).SetUnlinkOnClose(false)
	old.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}
	ln, err := ctl.Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer ln.Close()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial the new socket: %v", err)
	}
	conn.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o660 {
		t.Errorf("mode %v", fi.Mode())
	}
	ln.Close()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("closing the listener left the socket file: %v", err)
	}
}

func TestListenRefusesLiveServer(t *testing.T) {
	ts := newTestServer(t)
	_, err := ctl.Listen(ts.path)
	if err == nil || !strings.Contains(err.Error(), "another server is answering on it") {
		t.Fatalf("Listen on a live socket: %v", err)
	}
	ts.dial(t) // the live server still answers
}

func TestListenRefusesNonSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctl.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ctl.Listen(path)
	if err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Fatalf("Listen over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Error("the file was touched")
	}
}

func TestDialNoServer(t *testing.T) {
	dir := t.TempDir()
	_, err := ctl.Dial(filepath.Join(dir, "ctl.sock"))
	if !errors.Is(err, ctl.ErrNoAnswer) {
		t.Errorf("Dial(no file) = %v, want ErrNoAnswer", err)
	}
	// A socket that accepts but never answers (a hung server) is no answer either.
	path := filepath.Join(dir, "hung.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	start := time.Now()
	_, err = ctl.Dial(path)
	if !errors.Is(err, ctl.ErrNoAnswer) {
		t.Errorf("Dial(hung) = %v, want ErrNoAnswer", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Dial(hung) took %v", d)
	}
}

// TestRoundTrip runs every operation through the socket and checks its effect in the store.
func TestRoundTrip(t *testing.T) {
	ts := newTestServer(t)
	c := ts.dial(t)

	if err := ctl.Do(c, ctl.DomainAdd, ctl.DomainArgs{Name: "VinhYen.gov.vn"}); err != nil {
		t.Fatal(err)
	}
	if err := ctl.Do(c, ctl.DomainAdd, ctl.DomainArgs{Name: "phucyen.gov.vn"}); err != nil {
		t.Fatal(err)
	}
	ds, err := ctl.Call(c, ctl.DomainList, ctl.None{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Name != "phucyen.gov.vn" || ds[1].Name != "vinhyen.gov.vn" || ds[0].Created.IsZero() {
		t.Errorf("ListDomains = %+v", ds)
	}
	if err := ctl.Do(c, ctl.DomainRemove, ctl.DomainArgs{Name: "phucyen.gov.vn"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.Call(c, ctl.UnitAdd, ctl.UnitArgs{Path: "vinhyen/ubnd/phong-noi-vu", Name: "Phòng Nội vụ"}); err != nil {
		t.Fatal(err)
	}

	req := admin.AddUserRequest{Address: "an.nv@vinhyen.gov.vn", Name: "Nguyễn Văn An",
		Unit: "vinhyen/ubnd/phong-noi-vu", Quota: 2 << 30, Password: goodPassword}
	u, err := ctl.Call(c, ctl.UserAdd, req)
	if err != nil {
		t.Fatal(err)
	}
	want := admin.UserInfo{Address: req.Address, Name: req.Name, Unit: req.Unit, Quota: req.Quota, Created: u.Created}
	if !u.Created.Equal(want.Created) || u.Created.IsZero() || u.Address != want.Address || u.Name != want.Name ||
		u.Unit != want.Unit || u.Quota != want.Quota || u.Disabled {
		t.Errorf("AddUser = %+v, want %+v", u, want)
	}
	a, err := ts.store.Account(req.Address)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := auth.Verify(a.PasswordHash, goodPassword); !ok {
		t.Error("password not set through the socket")
	}

	if err := ctl.Do(c, ctl.UserPasswd, ctl.PasswordArgs{Address: req.Address, Password: "Mat-khau-moi-2025"}); err != nil {
		t.Fatal(err)
	}
	a, _ = ts.store.Account(req.Address)
	if ok, _ := auth.Verify(a.PasswordHash, "Mat-khau-moi-2025"); !ok {
		t.Error("SetPassword did not change the password")
	}

	if err := ctl.Do(c, ctl.UserDisable, ctl.DisableArgs{Address: req.Address}); err != nil {
		t.Fatal(err)
	}
	users, err := ctl.Call(c, ctl.UserList, ctl.None{})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || !users[0].Disabled || users[0].Name != "Nguyễn Văn An" {
		t.Errorf("ListUsers after Disable = %+v", users)
	}
	if err := ctl.Do(c, ctl.UserEnable, ctl.AddressArgs{Address: req.Address}); err != nil {
		t.Fatal(err)
	}
	if a, _ := ts.store.Account(req.Address); a.Disabled {
		t.Error("Enable did not enable")
	}
	if err := ctl.Do(c, ctl.UserRemove, ctl.AddressArgs{Address: req.Address}); err != nil {
		t.Fatal(err)
	}
	if users, err := ctl.Call(c, ctl.UserList, ctl.None{}); err != nil || len(users) != 0 {
		t.Errorf("ListUsers after RemoveUser = %+v, %v", users, err)
	}
	if logs := ts.logs.String(); !strings.Contains(logs, "op=user.add") || strings.Contains(logs, goodPassword) {
		t.Errorf("operation log missing or leaking the password:\n%s", logs)
	}
}

// TestErrorsPreserved checks that error text and kind survive the socket unchanged.
func TestErrorsPreserved(t *testing.T) {
	ts := newTestServer(t)
	c := ts.dial(t)
	if err := ctl.Do(c, ctl.DomainAdd, ctl.DomainArgs{Name: "vinhyen.gov.vn"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.Call(c, ctl.UserAdd, admin.AddUserRequest{Address: "an.nv@vinhyen.gov.vn", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	// The same operations on a Service directly give the reference errors.
	direct := admin.New(ts.store)
	tests := []struct {
		name          string
		remote, local error
		kind          error
	}{
		{"duplicate domain", ctl.Do(c, ctl.DomainAdd, ctl.DomainArgs{Name: "vinhyen.gov.vn"}), direct.AddDomain("vinhyen.gov.vn"), admin.ErrExists},
		{"bad domain", ctl.Do(c, ctl.DomainAdd, ctl.DomainArgs{Name: "a b"}), direct.AddDomain("a b"), admin.ErrInvalid},
		{"domain in use", ctl.Do(c, ctl.DomainRemove, ctl.DomainArgs{Name: "vinhyen.gov.vn"}), direct.RemoveDomain("vinhyen.gov.vn"), admin.ErrInUse},
		{"unknown domain", ctl.Do(c, ctl.DomainRemove, ctl.DomainArgs{Name: "x.vn"}), direct.RemoveDomain("x.vn"), admin.ErrNotFound},
		{"duplicate user", second(ctl.Call(c, ctl.UserAdd, admin.AddUserRequest{Address: "an.nv@vinhyen.gov.vn", Password: goodPassword})),
			errors.New("user an.nv@vinhyen.gov.vn already exists"), admin.ErrExists},
		{"user in unknown domain", second(ctl.Call(c, ctl.UserAdd, admin.AddUserRequest{Address: "an@x.vn", Password: goodPassword})),
			errors.New("domain x.vn does not exist: add it with 'mailserver domain add x.vn'"), admin.ErrNotFound},
		{"weak password", ctl.Do(c, ctl.UserPasswd, ctl.PasswordArgs{Address: "an.nv@vinhyen.gov.vn", Password: "short"}), direct.SetPassword("an.nv@vinhyen.gov.vn", "short"), admin.ErrInvalid},
		{"unknown user", ctl.Do(c, ctl.UserDisable, ctl.DisableArgs{Address: "binh@vinhyen.gov.vn"}), direct.Disable("binh@vinhyen.gov.vn"), admin.ErrNotFound},
		{"unknown user enable", ctl.Do(c, ctl.UserEnable, ctl.AddressArgs{Address: "binh@vinhyen.gov.vn"}), direct.Enable("binh@vinhyen.gov.vn"), admin.ErrNotFound},
		{"unknown user remove", ctl.Do(c, ctl.UserRemove, ctl.AddressArgs{Address: "binh@vinhyen.gov.vn"}), direct.RemoveUser("binh@vinhyen.gov.vn"), admin.ErrNotFound},
	}
	for _, tt := range tests {
		if tt.remote == nil || tt.local == nil {
			t.Errorf("%s: remote %v, local %v", tt.name, tt.remote, tt.local)
			continue
		}
		if tt.remote.Error() != tt.local.Error() {
			t.Errorf("%s: remote error %q, want %q", tt.name, tt.remote, tt.local)
		}
		if !errors.Is(tt.remote, tt.kind) {
			t.Errorf("%s: remote error %q lost its kind %v", tt.name, tt.remote, tt.kind)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestProtocolErrors(t *testing.T) {
	ts := newTestServer(t)
	got := rawCall(t, ts.path,
		`{"op":"ping"}`,
		`not json`,
		`{"op":"user.frobnicate","args":{}}`,
		`{"op":"domain.add"}`,
		`{"op":"domain.add","args":{"name":"vinhyen.gov.vn","colour":"red"}}`,
		`{"op":"domain.add","args":{"name":"vinhyen.gov.vn"}}`,
		`{"op":"domain.add","args":{"name":"vinhyen.gov.vn"}}`,
		`{"op":"domain.list"}`,
	)
	want := []string{
		`{"ok":true,"result":"pong"}`,
		`{"ok":false,"error":"malformed request: invalid character 'o' in literal null (expecting 'u')"}`,
		`{"ok":false,"error":"unknown operation \"user.frobnicate\": are the CLI and the server the same version?"}`,
		`{"ok":false,"error":"malformed request: missing args"}`,
		`{"ok":false,"error":"malformed request: json: unknown field \"colour\""}`,
		`{"ok":true}`,
		`{"ok":false,"error":"domain vinhyen.gov.vn already exists","code":"exists"}`,
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("response %d\n got: %s\nwant: %s", i, got[i], w)
		}
	}
	var list struct {
		OK     bool
		Result []map[string]any
	}
	if err := json.Unmarshal([]byte(got[7]), &list); err != nil || !list.OK || len(list.Result) != 1 ||
		list.Result[0]["name"] != "vinhyen.gov.vn" {
		t.Errorf("domain.list: %s (%v)", got[7], err)
	}
}

func TestRequestTooLarge(t *testing.T) {
	ts := newTestServer(t)
	big := `{"op":"domain.add","args":{"name":"` + strings.Repeat("a", ctl.MaxRequest) + `"}}`
	got := rawCall(t, ts.path, big)
	if got[0] != `{"ok":false,"error":"request larger than 65536 bytes"}` {
		t.Errorf("oversized request: %s", got[0])
	}
	// The client refuses to send one.
	c := ts.dial(t)
	err := ctl.Do(c, ctl.UserPasswd, ctl.PasswordArgs{Address: "an@vinhyen.gov.vn", Password: strings.Repeat("x", ctl.MaxRequest)})
	if err == nil || !strings.Contains(err.Error(), "larger than 65536 bytes") {
		t.Errorf("client sent an oversized request: %v", err)
	}
	ts.dial(t) // and the server still answers
}

func TestConcurrentClients(t *testing.T) {
	ts := newTestServer(t)
	c := ts.dial(t)
	if err := ctl.Do(c, ctl.DomainAdd, ctl.DomainArgs{Name: "vinhyen.gov.vn"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			addr := "user" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@vinhyen.gov.vn"
			_, err := ctl.Call(c, ctl.UserAdd, admin.AddUserRequest{Address: addr, Password: goodPassword})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if users, _ := ctl.Call(c, ctl.UserList, ctl.None{}); len(users) != 40 {
		t.Errorf("%d users, want 40", len(users))
	}
}

// TestServeStopsIdleConnections checks that cancelling Serve does not wait for idle clients.
func TestServeStopsIdleConnections(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "mail.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	path := filepath.Join(dir, "ctl.sock")
	ln, err := ctl.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	stop := ctl.StartServe(t, func(ctx context.Context) error { return ctl.Serve(ctx, ln, admin.New(st), nil) })
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rawCall(t, path, `{"op":"ping"}`)
	stop() // fails the test if Serve waits for the idle connection
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left after Serve returned: %v", err)
	}
}

// TestBackendsRunTheSameOp runs one Op value on both backends the CLI uses, the socket and the store file
// directly: same results, same errors with their kinds; and on no backend, an error rather than a crash.
func TestBackendsRunTheSameOp(t *testing.T) {
	ts := newTestServer(t)
	backends := map[string]ctl.Backend{"socket": ts.dial(t), "direct": ctl.Direct{Service: admin.New(ts.store)}}
	for name, b := range backends {
		domain := ctl.DomainArgs{Name: name + ".vinhyen.gov.vn"}
		if err := ctl.Do(b, ctl.DomainAdd, domain); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := ctl.Do(b, ctl.DomainAdd, domain); !errors.Is(err, admin.ErrExists) ||
			err.Error() != "domain "+domain.Name+" already exists" {
			t.Errorf("%s: adding the domain again: %v", name, err)
		}
	}
	socket, err := ctl.Call(backends["socket"], ctl.DomainList, ctl.None{})
	must(t, err)
	direct, err := ctl.Call(backends["direct"], ctl.DomainList, ctl.None{})
	must(t, err)
	if len(socket) != 2 || len(direct) != 2 || socket[0].Name != direct[0].Name || !socket[1].Created.Equal(direct[1].Created) {
		t.Errorf("domain.list through the socket %+v, directly %+v", socket, direct)
	}
	if _, err := ctl.Call(nil, ctl.DomainList, ctl.None{}); err == nil {
		t.Error("domain.list ran on no backend")
	}
}
