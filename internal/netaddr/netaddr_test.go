package netaddr

import (
	"net"
	"net/netip"
	"testing"
)

func TestClientGroupsIPv6By64(t *testing.T) {
	key := func(s string) netip.Prefix {
		p, ok := ParseClient(s)
		if !ok {
			t.Fatalf("ParseClient(%q) failed", s)
		}
		return p
	}
	if key("[2001:db8:1:2::1]:25") != key("2001:db8:1:2:ffff::9") || key("2001:db8:1:2::1") == key("2001:db8:1:3::1") {
		t.Error("IPv6 addresses are not grouped by /64")
	}
	if key("10.0.0.1") != key("::ffff:10.0.0.1") || key("10.0.0.1:99").Bits() != 32 {
		t.Error("IPv4 and IPv4-mapped addresses differ")
	}
	if _, ok := ParseClient("not an address"); ok {
		t.Error("nonsense parsed")
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[net.Addr]bool{
		&net.TCPAddr{IP: net.ParseIP("127.0.0.1")}: true,
		&net.TCPAddr{IP: net.ParseIP("::1")}:       true,
		&net.TCPAddr{IP: net.ParseIP("10.1.2.3")}:  false,
		&net.UnixAddr{Name: "/tmp/x", Net: "unix"}: false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%v) = %v", addr, got)
		}
	}
}

func TestHost(t *testing.T) {
	for addr, want := range map[net.Addr]string{
		&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 25}: "127.0.0.1",
		&net.TCPAddr{IP: net.ParseIP("::1"), Port: 993}:      "::1",
		&net.UnixAddr{Name: "/run/ctl.sock", Net: "unix"}:    "/run/ctl.sock",
	} {
		if got := Host(addr); got != want {
			t.Errorf("Host(%v) = %q, want %q", addr, got, want)
		}
	}
	if Host(nil) != "" {
		t.Error("Host(nil) is not empty")
	}
}
