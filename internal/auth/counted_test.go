package auth

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"mailserver/internal/metrics"
	"mailserver/internal/metrics/metricstest"
)

// Each login is counted under the protocol that made it, by how it ended: a lockout apart from a turn too far away.
func TestLoginsCountedByResult(t *testing.T) {
	st := storeWithAn(t)
	clock := newFakeClock()
	// One free failure, then an hour between attempts; the second failure locks the account for a day.
	p := DefaultPolicy()
	p.Account = Limits{Free: 1, BaseDelay: time.Hour, MaxDelay: time.Hour, Leak: 24 * time.Hour, LockAt: 2, LockFor: 24 * time.Hour}
	p.MaxWait = time.Second
	m := metrics.New(nil)
	a := NewAuthenticator(st, NewThrottleWithPolicy(clock.Now, p)).ForProtocol(m, metrics.ProtocolCardDAV)
	remote := &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 40000}

	login := func(password string) error {
		_, err := a.Authenticate(remote, "an@example.gov.vn", password)
		return err
	}
	if err := login("Mật-khẩu-2026"); err != nil {
		t.Fatal(err)
	}
	if err := login("sai"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if err := login("sai"); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("an hour too early: %v", err)
	}
	clock.Advance(time.Hour)
	if err := login("sai"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong password after the wait: %v", err)
	}
	clock.Advance(2 * time.Hour)
	if err := login("Mật-khẩu-2026"); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("locked out: %v", err)
	}

	s := metricstest.Gather(t, m)
	s.Want(t, 1, "mailserver_logins_total", "protocol", "carddav", "result", "success")
	s.Want(t, 2, "mailserver_logins_total", "protocol", "carddav", "result", "failure")
	s.Want(t, 1, "mailserver_logins_total", "protocol", "carddav", "result", "throttled")
	s.Want(t, 1, "mailserver_logins_total", "protocol", "carddav", "result", "locked")
	s.Want(t, 0, "mailserver_logins_total", "protocol", "imap", "result", "success") // not under another protocol
}

func TestLoginResult(t *testing.T) {
	for _, c := range []struct {
		err  error
		want metrics.LoginResult
	}{
		{nil, metrics.LoginSuccess},
		{ErrInvalidCredentials, metrics.LoginFailure},
		{ErrAccountDisabled, metrics.LoginFailure},
		{fmt.Errorf("login an@example.gov.vn: %w", errors.New("database not open")), metrics.LoginFailure},
		{ErrBusy, metrics.LoginThrottled},
		{&ThrottledError{RetryAfter: time.Minute}, metrics.LoginThrottled},
		{&ThrottledError{RetryAfter: time.Minute, Locked: true}, metrics.LoginLocked},
	} {
		if got := loginResult(c.err); got != c.want {
			t.Errorf("loginResult(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}
