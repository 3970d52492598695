package imap

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"mailserver/internal/auth"
	"mailserver/internal/store"
)

// testClock is a throttle clock that moves only when told, so that what the throttle lets through does not
// depend on how fast the machine is.
type testClock struct{ elapsed atomic.Int64 }

func (c *testClock) now() time.Time {
	return time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(c.elapsed.Load()))
}

func (c *testClock) advance(d time.Duration) { c.elapsed.Add(int64(d)) }

// fastPolicy is DefaultPolicy a hundred times faster: an account's attempts are spaced by 10, 20, 40 ms ... after
// five failures, and a login waits at most 100 ms for its turn.
func fastPolicy() auth.Policy {
	p := auth.DefaultPolicy()
	for _, lim := range []*auth.Limits{&p.Account, &p.Address} {
		lim.BaseDelay, lim.MaxDelay = lim.BaseDelay/100, lim.MaxDelay/100
	}
	p.MaxWait /= 100
	return p
}

// newThrottledServer serves logins through the real Authenticator with throttle th; testUser has testPassword.
func newThrottledServer(t *testing.T, th *auth.Throttle) *testServer {
	t.Helper()
	ts := newTestServer(t, func(c *testConfig) { c.opts.Auth = auth.NewAuthenticator(c.opts.Store, th) })
	ts.setPassword(t, auth.Hasher{Time: 1, MemoryKiB: 64, Threads: 1})
	return ts
}

// setPassword stores testUser's testPassword hashed by h.
func (ts *testServer) setPassword(t testing.TB, h auth.Hasher) {
	t.Helper()
	hash, err := h.Hash(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.st.UpdateAccount(testUser, func(a *store.Account) error {
		a.PasswordHash = hash
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// dialTLS connects to an implicit-TLS address of ts.
func (ts *testServer) dialTLS(t *testing.T, addr string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(addr, &imapclient.Options{TLSConfig: ts.clientTL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// shortWriteDeadlines serves implicit TLS on a listener whose connections never let a write deadline lie more
// than limit ahead: go-imap's 30 s reply deadline becomes limit. It sits under TLS, as netlimit does in
// production, so the library still sees a *tls.Conn.
type shortWriteDeadlines struct {
	net.Listener
	limit time.Duration
}

func (l shortWriteDeadlines) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return shortWriteDeadlineConn{c, l.limit}, nil
}

type shortWriteDeadlineConn struct {
	net.Conn
	limit time.Duration
}

func (c shortWriteDeadlineConn) SetWriteDeadline(t time.Time) error {
	if soonest := time.Now().Add(c.limit); !t.IsZero() && t.After(soonest) {
		t = soonest
	}
	return c.Conn.SetWriteDeadline(t)
}

// A correct login that the throttle would hold past the server's reply deadline is refused at once with
// NO [UNAVAILABLE] and when to try again, and succeeds when the client comes back, on the same connection. It
// never waits into go-imap's write deadline (30 s, set before AUTHENTICATE runs the mechanism; cut to 2 s here),
// which ended the connection with a TLS error.
func TestThrottledLoginAnsweredInTime(t *testing.T) {
	clock := &testClock{}
	p := fastPolicy()
	p.Account = auth.Limits{Free: 1, BaseDelay: 3 * time.Second, MaxDelay: 3 * time.Second, Leak: time.Hour,
		LockAt: 10, LockFor: time.Hour}
	ts := newThrottledServer(t, auth.NewThrottleWithPolicy(clock.now, p))
	addr := ts.listen(t, func(ln net.Listener) error {
		return ts.srv.ServeTLS(shortWriteDeadlines{ln, 2 * time.Second})
	})
	c := ts.dialTLS(t, addr)

	wantCode(t, c.Authenticate(sasl.NewPlainClient("", testUser, "wrong")), imap.ResponseCodeAuthenticationFailed)
	err := c.Authenticate(sasl.NewPlainClient("", testUser, testPassword)) // owes 3 s
	if responseCode(err) != imap.ResponseCodeUnavailable || !strings.Contains(err.Error(), "try again in 3 seconds") {
		t.Fatalf("correct password owing a 3 s wait: %v; want NO [UNAVAILABLE] ... try again in 3 seconds", err)
	}
	clock.advance(3 * time.Second)
	if err := c.Authenticate(sasl.NewPlainClient("", testUser, testPassword)); err != nil {
		t.Fatalf("correct password when told to come back: %v", err)
	}
	selectBox(t, c, "INBOX", false)
}

// guessInParallel makes n wrong AUTHENTICATE PLAIN guesses for testUser at once, each on its own TLS connection
// from 127.0.0.1, and counts the replies: NO [AUTHENTICATIONFAILED] means the password was checked,
// NO [UNAVAILABLE] that the throttle refused it unchecked.
func guessInParallel(t *testing.T, ts *testServer, n int) (checked, refused int) {
	t.Helper()
	codes := authenticateInParallel(t, ts, n, "wrong guess")
	for code, count := range codes {
		switch code {
		case imap.ResponseCodeAuthenticationFailed:
			checked += count
		case imap.ResponseCodeUnavailable:
			refused += count
		default:
			t.Errorf("%d guesses answered %q", count, code)
		}
	}
	return checked, refused
}

// authenticateInParallel sends n AUTHENTICATE PLAIN for testUser with password at once, each on its own TLS
// connection from 127.0.0.1 (all connected first, so that the logins overlap), and counts the replies by response
// code ("" for OK).
func authenticateInParallel(t *testing.T, ts *testServer, n int, password string) map[imap.ResponseCode]int {
	t.Helper()
	clients := make([]*imapclient.Client, n)
	for i := range clients {
		clients[i] = ts.dialTLS(t, ts.tlsAddr)
	}
	codes := make(chan imap.ResponseCode, n)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			err := c.Authenticate(sasl.NewPlainClient("", testUser, password))
			if code := responseCode(err); err == nil || code != "" {
				codes <- code
			} else {
				t.Errorf("AUTHENTICATE: %v", err)
			}
		})
	}
	wg.Wait()
	close(codes)
	counts := make(map[imap.ResponseCode]int)
	for code := range codes {
		counts[code]++
	}
	return counts
}

// spacedGuesses is how many guesses at one account a patient client gets checked in MaxWait: five free, then
// spaced by 1, 2 and 4 units (10 ms each under fastPolicy); the next would wait 15, more than MaxWait's 10.
const spacedGuesses = 8

// 30 parallel wrong guesses at one account from one address get no more checked than guesses one after another
// would in the same time; the rest are refused unchecked. The throttle's clock stands still, so the count does
// not depend on the machine's speed.
func TestParallelGuessesSpaced(t *testing.T) {
	clock := &testClock{}
	ts := newThrottledServer(t, auth.NewThrottleWithPolicy(clock.now, fastPolicy()))
	checked, refused := guessInParallel(t, ts, 30)
	if checked != spacedGuesses || refused != 30-spacedGuesses {
		t.Fatalf("30 parallel guesses: %d checked, %d refused; want %d checked", checked, refused, spacedGuesses)
	}
}

// The same from an address where the owner has logged in: the address is exempt from the account's lockout, but
// its guesses at the account are spaced by the account's delays all the same.
func TestParallelGuessesFromKnownAddressSpaced(t *testing.T) {
	clock := &testClock{}
	ts := newThrottledServer(t, auth.NewThrottleWithPolicy(clock.now, fastPolicy()))
	owner := ts.dialTLS(t, ts.tlsAddr)
	if err := owner.Authenticate(sasl.NewPlainClient("", testUser, testPassword)); err != nil {
		t.Fatalf("the owner's login: %v", err)
	}
	checked, refused := guessInParallel(t, ts, 30)
	if checked != spacedGuesses || refused != 30-spacedGuesses {
		t.Fatalf("30 parallel guesses from a known address: %d checked, %d refused; want %d checked",
			checked, refused, spacedGuesses)
	}
}

// Fifty connections logging in to one account at once with its right password (a client reopening its
// connections, mailbench logins) all get in: those that arrive while the first is checked wait for it and find the
// password verified, instead of counting as guesses in progress (the throttle refused all but a few).
func TestParallelLoginsToOneAccount(t *testing.T) {
	ts := newThrottledServer(t, auth.NewThrottleWithPolicy((&testClock{}).now, fastPolicy()))
	ts.setPassword(t, auth.DefaultHasher()) // a check long enough for the other logins to overlap it
	if codes := authenticateInParallel(t, ts, 50, testPassword); codes[""] != 50 {
		t.Fatalf("50 parallel logins with the right password answered %v, want 50 OK", codes)
	}
}
