package netlimit

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

func TestPerIPLimit(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	limiter := NewLimiter(2)
	refuse := func(c net.Conn) { c.Write([]byte("421 too many\r\n")) }
	ln, otherLn := limiter.Listener(raw, refuse), limiter.Listener(other, refuse)
	defer ln.Close()
	defer otherLn.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	first, second := dial(), dial()
	_, _ = first, second
	server1, server2 := <-accepted, <-accepted

	// The budget is shared: the other listener refuses too.
	third, err := net.Dial("tcp", other.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	go otherLn.Accept()
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(third).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "421") {
		t.Fatalf("third connection: %q %v, want the refusal", line, err)
	}
	select {
	case <-accepted:
		t.Fatal("a connection over the limit was accepted")
	case <-time.After(100 * time.Millisecond):
	}

	// Closing one (twice: the slot is released once) makes room for exactly one more.
	server1.Close()
	server1.Close()
	dial()
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("a freed slot was not reused")
	}
	fifth := dial()
	fifth.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, _ := bufio.NewReader(fifth).ReadString('\n'); !strings.HasPrefix(line, "421") {
		t.Fatalf("fifth connection: %q, want the refusal", line)
	}
	server2.Close()
}
