// Package testnet holds the loopback helpers that tests in several packages share: a free port to listen on,
// waiting for a server in another process to listen, and finding the independent clients they talk to it with.
package testnet

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// RequireTool finds an external client (python3, swaks...). Outside CI a missing client skips the test; in CI
// (CI=true) it fails, because .ci/run installs every client the tests use.
func RequireTool(tb testing.TB, name string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s is not installed; .ci/run should have installed it", name)
	}
	tb.Skipf("%s is not installed (with CI=true this fails)", name)
	return ""
}

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
