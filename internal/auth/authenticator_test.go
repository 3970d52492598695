package auth

import (
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"mailserver/internal/store"
)

func TestAuthenticator(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "mail.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cheap := Hasher{Time: 1, MemoryKiB: 1024, Threads: 1}
	hash, err := cheap.Hash("Mật-khẩu-2026")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddDomain("example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"an@example.gov.vn", "off@example.gov.vn"} {
		if _, err := st.AddAccount(store.Account{Address: addr, PasswordHash: hash, Disabled: addr == "off@example.gov.vn"}); err != nil {
			t.Fatal(err)
		}
	}
	a := NewAuthenticator(st, NewThrottle(time.Now))
	remote := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 40000}

	acct, err := a.Authenticate(remote, "AN@Example.gov.vn", "Mật-khẩu-2026")
	if err != nil || acct.Address != "an@example.gov.vn" {
		t.Fatalf("good login: %v %+v", err, acct)
	}
	for _, tc := range []struct{ user, pw string }{
		{"an@example.gov.vn", "wrong"}, {"nobody@example.gov.vn", "Mật-khẩu-2026"}, {"not an address", "x"},
	} {
		if _, err := a.Authenticate(remote, tc.user, tc.pw); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("%s/%s: %v, want ErrInvalidCredentials", tc.user, tc.pw, err)
		}
	}
	if _, err := st.AddShared(store.Account{Address: "vanthu@example.gov.vn"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(remote, "vanthu@example.gov.vn", ""); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("login as a shared mailbox: %v, want ErrInvalidCredentials", err)
	}
	if _, err := a.Authenticate(remote, "off@example.gov.vn", "Mật-khẩu-2026"); !errors.Is(err, ErrAccountDisabled) {
		t.Errorf("disabled account: %v", err)
	}
}

// TestBusyLoginAnsweredInTime: when the memory for password checks stays taken (a storm of logins), a login is
// answered ErrBusy after verifyWait instead of waiting past the protocols' reply deadlines, and it is not counted as
// a failure: the same login succeeds once the memory is free.
func TestBusyLoginAnsweredInTime(t *testing.T) {
	st := storeWithAn(t)
	throttle := NewThrottle(time.Now)
	a := NewAuthenticator(st, throttle)
	a.verifyWait = 10 * time.Millisecond
	a.memory.TryAcquire(a.budget) // the whole budget taken by logins being checked elsewhere
	remote := &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 40000}
	for range 10 { // more than the account's free failures: none of these may count as one
		if _, err := a.Authenticate(remote, "an@example.gov.vn", "Mật-khẩu-2026"); !errors.Is(err, ErrBusy) {
			t.Fatalf("login with every slot taken: %v, want ErrBusy", err)
		}
	}
	if wait, err := throttle.Check("192.0.2.7", "an@example.gov.vn"); wait != 0 || err != nil {
		t.Errorf("after busy refusals the throttle owes %v, %v; want nothing", wait, err)
	}
	a.memory.Release(a.budget) // the checks elsewhere end
	if acct, err := a.Authenticate(remote, "an@example.gov.vn", "Mật-khẩu-2026"); err != nil || acct.Address != "an@example.gov.vn" {
		t.Errorf("login with a free slot: %+v, %v", acct, err)
	}
}

func TestLogName(t *testing.T) {
	if got := LogName("an.nv@vinhyen.gov.vn"); got != "an.nv@vinhyen.gov.vn" {
		t.Errorf("a short name changed: %q", got)
	}
	long := strings.Repeat("ệ", 2000) // 3 bytes each: the cut falls inside a character
	got := LogName(long)
	if len(got) > maxLoggedName+len("… (6000 bytes)") || !strings.HasSuffix(got, "… (6000 bytes)") || !utf8.ValidString(got) {
		t.Errorf("LogName of 6000 bytes = %d bytes %q…", len(got), got[:min(len(got), 40)])
	}
}

// storeWithAn is a store holding the account an@example.gov.vn with the password "Mật-khẩu-2026" (hashed cheaply).
func storeWithAn(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "mail.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hash, err := Hasher{Time: 1, MemoryKiB: 1024, Threads: 1}.Hash("Mật-khẩu-2026")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddDomain("example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddAccount(store.Account{Address: "an@example.gov.vn", PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	return st
}
