package auth

import (
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

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
