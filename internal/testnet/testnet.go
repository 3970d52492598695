// Package testnet holds the loopback helpers that tests in several packages share: a free port to listen on, and
// waiting for a server in another process to listen.
package testnet

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// FreeAddr returns a loopback address with a port the kernel just handed out, for a server started afterwards.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// WaitListening waits up to within for a server to accept connections on addr, and fails the test after that.
func WaitListening(tb testing.TB, addr string, within time.Duration) {
	tb.Helper()
	if err := AwaitListening(addr, within, nil); err != nil {
		tb.Fatal(err)
	}
}

// AwaitListening waits up to within for a server to accept connections on addr, giving up at once when gone (if
// not nil) returns an error: the process that was to listen has exited, say. It returns why it gave up, or nil.
func AwaitListening(addr string, within time.Duration, gone func() error) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if gone != nil {
			if goneErr := gone(); goneErr != nil {
				return fmt.Errorf("nothing listens on %s: %w", addr, goneErr)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %s: %w", addr, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
