package imap

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"
)

// At shutdown every connection is told BYE before it is closed, whether it is logged in and idling or has not
// logged in yet, so that clients reconnect later instead of reporting a broken connection.
func TestShutdownSaysBye(t *testing.T) {
	ts := newTestServer(t)
	idling := dialRaw(t, ts.addr)
	idling.ok("LOGIN %s %q", testUser, testPassword)
	idling.ok("SELECT INBOX")
	fmt.Fprintf(idling.c, "I1 IDLE\r\n")
	if line := idling.readLine(); line != "+ idling" {
		t.Fatalf("IDLE: %q", line)
	}
	anonymous := dialRaw(t, ts.addr)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for name, rc := range map[string]*rawConn{"idling": idling, "not logged in": anonymous} {
		if line := rc.readLine(); line != "* BYE Server shutting down, try again later" {
			t.Errorf("%s connection at shutdown: %q, want BYE", name, line)
		}
		if rest, err := io.ReadAll(rc.r); err != nil || len(rest) > 0 {
			t.Errorf("%s connection after BYE: read %q, %v; want it closed", name, rest, err)
		}
	}
}
