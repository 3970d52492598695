package webmail

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/auth"
	"mailserver/internal/sieve"
	"mailserver/internal/store"
	"mailserver/internal/vacation"
)

const newTestPassword = "Mật-khẩu-mới-2027!"

// newSettingsEnv is newTestEnv with the settings wired as the server wires them: the administration's password
// change and Sieve compiler over the same store, and a throttle that lets a few wrong passwords through.
func newSettingsEnv(t *testing.T) (*testEnv, *admin.Service) {
	t.Helper()
	st := openTestStore(t)
	env := &testEnv{st: st, acct: addAccount(t, st, "lan@hanoi.gov.vn")}
	policy := auth.DefaultPolicy()
	policy.Account = auth.Limits{Free: 20, BaseDelay: time.Hour, MaxDelay: time.Hour, Leak: time.Hour, LockAt: 50,
		LockFor: time.Hour}
	authn := auth.NewAuthenticator(st, auth.NewThrottleWithPolicy(time.Now, policy))
	svc := admin.New(st, admin.WithHasher(auth.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}),
		admin.WithCredentialsChanged(authn.Forget))
	h, err := New(Options{Store: st, Auth: authn, Logger: slog.New(slog.DiscardHandler),
		ChangePassword: svc.ChangeOwnPassword, CompileSieve: svc.CompileSieve})
	if err != nil {
		t.Fatal(err)
	}
	env.srv = httptest.NewTLSServer(h)
	t.Cleanup(env.srv.Close)
	return env, svc
}

func (e *testEnv) changePassword(t *testing.T, c *http.Client, current, next, confirm string) response {
	t.Helper()
	form := e.get(t, c, "/mail/settings")
	return e.post(t, c, "/mail/settings/password", url.Values{"csrf": {csrfOf(t, form.body)}, "current": {current},
		"new": {next}, "confirm": {confirm}})
}

func (e *testEnv) mustLogIn(t *testing.T, password string) *http.Client {
	t.Helper()
	c := e.client(t)
	if r := e.login(t, c, e.acct.Address, password); r.status != http.StatusOK || r.url != "/mail/" {
		t.Fatalf("login with %q: %d at %s", password, r.status, r.url)
	}
	return c
}

func TestSettingsPasswordRefused(t *testing.T) {
	env, _ := newSettingsEnv(t)
	c := env.mustLogIn(t, testPassword)
	cases := []struct {
		name, current, next, confirm string
		status                       int
		notice                       string
	}{
		{"wrong current", "Sai-mật-khẩu-1", newTestPassword, newTestPassword, http.StatusForbidden, "settings_wrong_password"},
		{"weak new", testPassword, "ngan123", "ngan123", http.StatusBadRequest, "settings_password_weak"},
		{"one kind only", testPassword, "chỉtoànchữthường", "chỉtoànchữthường", http.StatusBadRequest, "settings_password_weak"},
		{"control character", testPassword, "Mật-khẩu\t-2027!", "Mật-khẩu\t-2027!", http.StatusBadRequest, "settings_password_weak"},
		{"confirmation differs", testPassword, newTestPassword, newTestPassword + "x", http.StatusBadRequest, "settings_password_mismatch"},
	}
	for _, tc := range cases {
		r := env.changePassword(t, c, tc.current, tc.next, tc.confirm)
		if r.status != tc.status || !strings.Contains(r.body, words["vi"][tc.notice]) {
			t.Errorf("%s: %d, want %d with %q\n%s", tc.name, r.status, tc.status, tc.notice, r.body)
		}
	}
	env.mustLogIn(t, testPassword) // unchanged
	if r := env.login(t, env.client(t), env.acct.Address, newTestPassword); r.status != http.StatusUnauthorized {
		t.Errorf("a refused new password logs in: %d", r.status)
	}
	if r := env.get(t, c, "/mail/"); r.url != "/mail/" {
		t.Errorf("the session ended after refused changes: at %s", r.url)
	}
}

func TestSettingsPasswordChanged(t *testing.T) {
	env, _ := newSettingsEnv(t)
	c := env.mustLogIn(t, testPassword)
	other := env.mustLogIn(t, testPassword)
	r := env.changePassword(t, c, testPassword, newTestPassword, newTestPassword)
	if r.status != http.StatusOK || r.url != "/mail/settings" || !strings.Contains(r.body, words["vi"]["settings_password_changed"]) {
		t.Fatalf("change: %d at %s\n%s", r.status, r.url, r.body)
	}
	if r := env.get(t, c, "/mail/"); r.status != http.StatusOK || r.url != "/mail/" {
		t.Errorf("this session ended: %d at %s", r.status, r.url)
	}
	// The fresh session's CSRF token works for the next form.
	if r := env.changePassword(t, c, "Sai-mật-khẩu-1", newTestPassword, newTestPassword); r.status != http.StatusForbidden {
		t.Errorf("a form of the fresh session: %d, want the wrong-password page", r.status)
	}
	if r := env.get(t, other, "/mail/"); r.url != "/mail/login" {
		t.Errorf("the other session still works: at %s", r.url)
	}
	if r := env.login(t, env.client(t), env.acct.Address, testPassword); r.status != http.StatusUnauthorized {
		t.Errorf("the old password still logs in: %d", r.status)
	}
	env.mustLogIn(t, newTestPassword)
	records, err := env.st.AuditLog(store.AuditFilter{Account: env.acct.Address})
	if err != nil {
		t.Fatal(err)
	}
	var audited bool
	for _, rec := range records {
		audited = audited || rec.Action == "user.passwd" && rec.Actor == env.acct.Address && rec.From == "webmail"
	}
	if !audited {
		t.Errorf("no user.passwd record by the user from the webmail in %+v", records)
	}
}

func TestSettingsCSRF(t *testing.T) {
	env, _ := newSettingsEnv(t)
	c := env.mustLogIn(t, testPassword)
	for path, form := range map[string]url.Values{
		"/mail/settings/password": {"current": {testPassword}, "new": {newTestPassword}, "confirm": {newTestPassword}},
		"/mail/settings/vacation": {"on": {"1"}},
	} {
		for _, token := range []string{"", "giả-mạo"} {
			form.Set("csrf", token)
			if r := env.post(t, c, path, form); r.status != http.StatusForbidden {
				t.Errorf("%s with token %q: %d", path, token, r.status)
			}
		}
	}
	env.mustLogIn(t, testPassword)
	if _, err := env.st.SieveScript(env.acct.ID, vacation.ScriptName); err == nil {
		t.Error("a forged form turned the automatic reply on")
	}
}

// vacationMessage is a message as a Sieve run reads it.
type vacationMessage map[string][]string

func (m vacationMessage) HeaderValues(name string) []string { return m[strings.ToLower(name)] }
func (m vacationMessage) Size() int64                       { return 100 }
func (m vacationMessage) BodyText() string                  { return "Kính gửi chị Lan" }
func (m vacationMessage) RawBody() []byte                   { return []byte("Kính gửi chị Lan\r\n") }

func (e *testEnv) postVacation(t *testing.T, c *http.Client, form url.Values) response {
	t.Helper()
	page := e.get(t, c, "/mail/settings")
	form.Set("csrf", csrfOf(t, page.body))
	return e.post(t, c, "/mail/settings/vacation", form)
}

func TestSettingsVacationOnAndOff(t *testing.T) {
	env, svc := newSettingsEnv(t)
	st, id := env.st, env.acct.ID
	if err := st.PutSieveScript(id, "của-tôi", []byte("keep;\r\n"), store.SieveLimits{}); err != nil {
		t.Fatal(err)
	}
	if err := st.ActivateSieveScript(id, "của-tôi"); err != nil {
		t.Fatal(err)
	}
	c := env.mustLogIn(t, testPassword)
	r := env.postVacation(t, c, url.Values{"on": {"1"}, "from": {"2026-07-01"}, "until": {"2026-07-10"},
		"subject": {"Nghỉ phép"}, "message": {"Tôi nghỉ phép đến 10/7.\n.dòng bắt đầu bằng dấu chấm"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, words["vi"]["settings_vacation_on"]) {
		t.Fatalf("on: %d at %s\n%s", r.status, r.url, r.body)
	}
	name, src, err := st.ActiveSieveScript(id)
	if err != nil || name != vacation.ScriptName {
		t.Fatalf("active script %q, %v", name, err)
	}
	want := vacation.Script(vacation.Settings{From: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC),
		Until: time.Date(2026, 7, 10, 0, 0, 0, 0, time.UTC), Subject: "Nghỉ phép",
		Message: "Tôi nghỉ phép đến 10/7.\n.dòng bắt đầu bằng dấu chấm"}, "của-tôi")
	if string(src) != want {
		t.Errorf("script differs from the CLI's:\n%s\nwant\n%s", src, want)
	}
	script, err := svc.CompileSieve(env.acct, src)
	if err != nil {
		t.Fatal(err)
	}
	msg := vacationMessage{"from": {"hung@hanoi.gov.vn"}, "to": {env.acct.Address}, "subject": {"Báo cáo"}}
	envl := sieve.Envelope{From: "hung@hanoi.gov.vn", To: env.acct.Address}
	for _, tc := range []struct {
		now   time.Time
		reply bool
	}{
		{time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC), false},
		{time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC), true},
		{time.Date(2026, 7, 10, 20, 0, 0, 0, time.UTC), true},
		{time.Date(2026, 7, 11, 8, 0, 0, 0, time.UTC), false},
	} {
		res, err := script.Run(msg, envl, sieve.RunOptions{Now: tc.now, Zone: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Vacation != nil; got != tc.reply {
			t.Errorf("at %s: reply %v, want %v", tc.now, got, tc.reply)
		} else if got && (res.Vacation.Subject != "Nghỉ phép" || !strings.Contains(res.Vacation.Reason, ".dòng bắt đầu")) {
			t.Errorf("reply %+v", res.Vacation)
		}
	}
	// Set again: what runs afterwards stays the user's script, not the reply itself.
	if r := env.postVacation(t, c, url.Values{"on": {"1"}}); r.status != http.StatusOK {
		t.Fatalf("on again: %d\n%s", r.status, r.body)
	}
	if r := env.postVacation(t, c, url.Values{"on": {"0"}}); r.status != http.StatusOK ||
		!strings.Contains(r.body, words["vi"]["settings_vacation_off"]) {
		t.Fatalf("off: %d\n%s", r.status, r.body)
	}
	if name, _, err := st.ActiveSieveScript(id); err != nil || name != "của-tôi" {
		t.Errorf("after off the active script is %q (%v), want the user's own", name, err)
	}
	if _, err := st.SieveScript(id, vacation.ScriptName); err == nil {
		t.Error("the reply's script is still stored")
	}
	records, err := st.AuditLog(store.AuditFilter{Account: env.acct.Address})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]bool{}
	for _, rec := range records {
		if rec.From == "webmail" && rec.Actor == env.acct.Address {
			actions[rec.Action] = true
		}
	}
	for _, a := range []string{"sieve.put", "sieve.activate", "sieve.remove"} {
		if !actions[a] {
			t.Errorf("no %s record from the webmail: %v", a, actions)
		}
	}
}

func TestSettingsVacationRefused(t *testing.T) {
	env, _ := newSettingsEnv(t)
	c := env.mustLogIn(t, testPassword)
	for _, form := range []url.Values{
		{"on": {"1"}, "from": {"2026-07-10"}, "until": {"2026-07-01"}},
		{"on": {"1"}, "from": {"mồng một tháng bảy"}},
	} {
		r := env.postVacation(t, c, form)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, words["vi"]["settings_vacation_dates"]) {
			t.Errorf("%v: %d\n%s", form, r.status, r.body)
		}
	}
	if name, _, err := env.st.ActiveSieveScript(env.acct.ID); err != nil || name != "" {
		t.Errorf("active script %q (%v) after refused forms", name, err)
	}
	// Off with no reply set is no error, and the page says it is off.
	if r := env.postVacation(t, c, url.Values{"on": {"0"}}); r.status != http.StatusOK {
		t.Errorf("off when off: %d", r.status)
	}
}
