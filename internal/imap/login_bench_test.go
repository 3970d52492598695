package imap

import (
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mailserver/internal/auth"
)

// BenchmarkLogin is a connection that logs in and out through the real Authenticator, testUser's password hashed
// with auth.DefaultHasher: checked by argon2id on every login ("uncached", a user's first login) or remembered from
// the login before ("cached").
func BenchmarkLogin(b *testing.B) {
	var authn *auth.Authenticator
	ts := newTestServer(b, func(c *testConfig) {
		authn = auth.NewAuthenticator(c.opts.Store, auth.NewThrottle(time.Now))
		c.opts.Auth = authn
	})
	ts.setPassword(b, auth.DefaultHasher())
	for _, cached := range []bool{false, true} {
		b.Run(map[bool]string{false: "uncached", true: "cached"}[cached], func(b *testing.B) {
			for b.Loop() {
				if !cached {
					authn.Forget(testUser)
				}
				loginOnce(b, ts.addr)
			}
		})
	}
}

// loginOnce connects to addr, logs in as testUser and logs out.
func loginOnce(b *testing.B, addr string) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(testUser, testPassword).Wait(); err != nil {
		b.Fatalf("login: %v", err)
	}
	if err := c.Logout().Wait(); err != nil {
		b.Fatalf("logout: %v", err)
	}
}
