package outbound

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"

	"mailserver/internal/dns"
)

// fakeResolver answers from maps; a name in none of them does not exist.
type fakeResolver struct {
	mx   map[string][]*net.MX
	ips  map[string][]string
	errs map[string]error // "mx:name" or "ip:name"
	wait bool             // block until the context ends
}

var errServFail = &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}

func (f *fakeResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return nil, dns.NotFound(name)
}

func (f *fakeResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	return nil, dns.NotFound(addr)
}

func (f *fakeResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if f.wait {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if err := f.errs["mx:"+name]; err != nil {
		return nil, err
	}
	if mxs, ok := f.mx[name]; ok {
		return mxs, nil
	}
	return nil, dns.NotFound(name)
}

func (f *fakeResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	if err := f.errs["ip:"+host]; err != nil {
		return nil, err
	}
	ips, ok := f.ips[host]
	if !ok {
		return nil, dns.NotFound(host)
	}
	var addrs []net.IPAddr
	for _, ip := range ips {
		addrs = append(addrs, net.IPAddr{IP: net.ParseIP(ip)})
	}
	return addrs, nil
}

func routeCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// addrs lists the Addr of each target.
func addrs(targets []Target) []string {
	var a []string
	for _, t := range targets {
		a = append(a, t.Addr)
	}
	return a
}

func checkError(t *testing.T, err error, status string, permanent bool) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Status != status || e.Permanent != permanent {
		t.Errorf("got %v, want an *Error %s (permanent %v)", err, status, permanent)
	}
}

var testResolver = &fakeResolver{
	mx: map[string][]*net.MX{
		"bocongan.gov.vn": {{Host: "mx2.bocongan.gov.vn.", Pref: 20}, {Host: "MX1.bocongan.gov.vn.", Pref: 10}},
		"nullmx.gov.vn":   {{Host: ".", Pref: 0}},
		"ghost.gov.vn":    {{Host: "mx.ghost.gov.vn.", Pref: 10}},
		"flaky.gov.vn":    {{Host: "mx.flaky.gov.vn.", Pref: 10}, {Host: "mx.ghost.gov.vn.", Pref: 20}},
	},
	ips: map[string][]string{
		"mx1.bocongan.gov.vn": {"2001:db8::1", "192.0.2.1"},
		"mx2.bocongan.gov.vn": {"192.0.2.2", "192.0.2.1"},
		"nomx.gov.vn":         {"192.0.2.9"},
		"relay.hanoi.gov.vn":  {"10.0.0.25", "10.0.0.26"},
		"gw.gov.vn":           {"10.1.0.1"},
	},
	errs: map[string]error{
		"mx:broken.gov.vn":   errServFail,
		"ip:mx.flaky.gov.vn": errServFail,
		"ip:gw.flaky.gov.vn": errServFail,
	},
}

func TestTargetsMX(t *testing.T) {
	r := &Router{Resolver: testResolver}
	got, err := r.Targets(routeCtx(t), "BoCongAn.gov.vn.")
	if err != nil {
		t.Fatal(err)
	}
	// Preference order, IPv4 first, an address shared by two MX hosts once.
	want := []string{"192.0.2.1:25", "[2001:db8::1]:25", "192.0.2.2:25"}
	if !slices.Equal(addrs(got), want) {
		t.Errorf("got %v, want %v", addrs(got), want)
	}
	if got[0].Host != "mx1.bocongan.gov.vn" || got[2].Host != "mx2.bocongan.gov.vn" || got[0].Via != "mx" ||
		got[0].TLS != TLSOpportunistic {
		t.Errorf("targets %+v", got)
	}

	r.MXPort = "2525"
	got, err = r.Targets(routeCtx(t), "nomx.gov.vn")
	if err != nil || !slices.Equal(addrs(got), []string{"192.0.2.9:2525"}) || got[0].Via != "a" ||
		got[0].Host != "nomx.gov.vn" {
		t.Errorf("implicit MX: %+v, %v", got, err)
	}
}

func TestTargetsMXShuffle(t *testing.T) {
	res := &fakeResolver{
		mx:  map[string][]*net.MX{"x.gov.vn": {{Host: "a.", Pref: 10}, {Host: "b.", Pref: 10}, {Host: "c.", Pref: 5}}},
		ips: map[string][]string{"a": {"192.0.2.1"}, "b": {"192.0.2.2"}, "c": {"192.0.2.3"}},
	}
	r := &Router{Resolver: res}
	seen := map[string]bool{}
	for range 64 {
		got, err := r.Targets(routeCtx(t), "x.gov.vn")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].Host != "c" {
			t.Fatalf("preference 5 not first: %+v", got)
		}
		seen[got[1].Host] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Errorf("equal preferences never shuffled: %v", seen)
	}
}

func TestTargetsErrors(t *testing.T) {
	r := &Router{Resolver: testResolver}
	for _, tc := range []struct {
		domain, status string
		permanent      bool
	}{
		{"nullmx.gov.vn", "5.1.10", true},
		{"nowhere.gov.vn", "5.1.2", true},
		{"", "5.1.2", true},
		{"[192.0.2.1]", "5.1.2", true},
		{"ghost.gov.vn", "5.4.4", true},
		{"broken.gov.vn", "4.4.3", false},
		{"flaky.gov.vn", "4.4.3", false},
	} {
		_, err := r.Targets(routeCtx(t), tc.domain)
		checkError(t, err, tc.status, tc.permanent)
	}
	_, err := r.Targets(routeCtx(t), "broken.gov.vn")
	if !errors.Is(err, errServFail) {
		t.Errorf("lookup error not wrapped: %v", err)
	}
}

// An IP address written as a domain resolves to itself (the server's resolver answers it as its own address), so
// it would be dialled as the implicit MX; it is refused like an address literal, before routes and the smarthost.
func TestTargetsRefuseIPAddressAsDomain(t *testing.T) {
	mx := &Router{Resolver: dns.NewResolver(nil, nil)}
	relay := &Router{Resolver: dns.NewResolver(nil, nil), Smarthost: &Smarthost{Host: "10.0.0.25:25"}}
	for _, domain := range []string{"127.0.0.1", "127.0.0.1.", "10.0.0.5", "169.254.169.254", "::1",
		"::ffff:127.0.0.1"} {
		for _, r := range []*Router{mx, relay} {
			targets, err := r.Targets(routeCtx(t), domain)
			if err == nil {
				t.Errorf("%q routed to %v via %s", domain, addrs(targets), targets[0].Via)
				continue
			}
			checkError(t, err, "5.1.2", true)
		}
	}
}

// No top-level domain is all digits (RFC 1123 2.1), so such a name is an address in disguise ("127.1" is 127.0.0.1
// to inet_aton) and is never looked up; digits in other labels are fine.
func TestTargetsRefuseNumericTopLevelLabel(t *testing.T) {
	r := &Router{Resolver: &fakeResolver{ips: map[string][]string{
		"127.1":      {"127.0.0.1"}, // as a resolver that reads it the way inet_aton does answers
		"mail.123":   {"192.0.2.7"},
		"123.gov.vn": {"192.0.2.8"},
	}}}
	for _, domain := range []string{"127.1", "mail.123", "MAIL.123."} {
		targets, err := r.Targets(routeCtx(t), domain)
		if err == nil {
			t.Errorf("%q routed to %v", domain, addrs(targets))
			continue
		}
		checkError(t, err, "5.1.2", true)
	}
	got, err := r.Targets(routeCtx(t), "123.gov.vn")
	if err != nil || !slices.Equal(addrs(got), []string{"192.0.2.8:25"}) {
		t.Errorf("123.gov.vn: got %v, %v", addrs(got), err)
	}
}

func TestTargetsRoutes(t *testing.T) {
	r := &Router{
		Resolver: testResolver,
		Routes: []Route{
			{Domain: "*.gov.vn", Host: "gw.gov.vn:25", TLS: TLSRequired},
			{Domain: "*.hanoi.gov.vn", Host: "relay.hanoi.gov.vn:2525"},
			{Domain: "SoTC.Hanoi.gov.vn", Host: "192.0.2.50:25", TLS: TLSVerify},
			{Domain: "*.ipv6.vn", Host: "[2001:db8::25]:25"},
			{Domain: "*.typo.vn", Host: "gw.gov.vn"},
			{Domain: "*.nxhost.vn", Host: "nx.gov.vn:25"},
			{Domain: "*.flaky.vn", Host: "gw.flaky.gov.vn:25"},
		},
		Smarthost: &Smarthost{Host: "smarthost.test:587", Username: "u"},
	}
	for _, tc := range []struct {
		domain string
		want   []string
		tls    TLSPolicy
		host   string
	}{
		{"sotc.hanoi.gov.vn", []string{"192.0.2.50:25"}, TLSVerify, "192.0.2.50"},
		{"soyte.hanoi.gov.vn", []string{"10.0.0.25:2525", "10.0.0.26:2525"}, TLSOpportunistic, "relay.hanoi.gov.vn"},
		{"a.b.hanoi.gov.vn", []string{"10.0.0.25:2525", "10.0.0.26:2525"}, TLSOpportunistic, "relay.hanoi.gov.vn"},
		{"hanoi.gov.vn", []string{"10.1.0.1:25"}, TLSRequired, "gw.gov.vn"},
		{"bocongan.gov.vn", []string{"10.1.0.1:25"}, TLSRequired, "gw.gov.vn"},
		{"x.ipv6.vn", []string{"[2001:db8::25]:25"}, TLSOpportunistic, "2001:db8::25"},
	} {
		got, err := r.Targets(routeCtx(t), tc.domain)
		if err != nil || !slices.Equal(addrs(got), tc.want) || got[0].TLS != tc.tls || got[0].Host != tc.host ||
			got[0].Via != "route" || got[0].Username != "" {
			t.Errorf("%s: got %+v, %v; want %v via %s, %v", tc.domain, got, err, tc.want, tc.host, tc.tls)
		}
	}
	// gov.vn itself is not a subdomain of gov.vn: the smarthost takes it.
	if got, err := r.Targets(routeCtx(t), "gov.vn"); err == nil || got != nil {
		t.Errorf("gov.vn: %+v, %v", got, err)
	}
	for domain, status := range map[string]string{"x.typo.vn": "4.3.5", "x.nxhost.vn": "4.4.4", "x.flaky.vn": "4.4.3",
		"gov.vn": "4.4.4"} {
		_, err := r.Targets(routeCtx(t), domain)
		checkError(t, err, status, false)
		// The failure names the way the destination was being found, for the metrics.
		want := "route"
		if domain == "gov.vn" {
			want = "smarthost"
		}
		var e *Error
		if errors.As(err, &e) && e.Via != want {
			t.Errorf("%s: failure via %q, want %q", domain, e.Via, want)
		}
	}
}

func TestTargetsSmarthost(t *testing.T) {
	r := &Router{
		Resolver:  testResolver,
		Routes:    []Route{{Domain: "bocongan.gov.vn", Host: "192.0.2.7:25"}},
		Smarthost: &Smarthost{Host: "relay.hanoi.gov.vn:587", TLS: TLSVerify, Username: "u", Password: "p"},
	}
	got, err := r.Targets(routeCtx(t), "example.com")
	if err != nil || !slices.Equal(addrs(got), []string{"10.0.0.25:587", "10.0.0.26:587"}) {
		t.Fatalf("got %+v, %v", got, err)
	}
	for _, tg := range got {
		if tg.Via != "smarthost" || tg.TLS != TLSVerify || tg.Username != "u" || tg.Password != "p" ||
			tg.Host != "relay.hanoi.gov.vn" {
			t.Errorf("target %+v", tg)
		}
	}
	if got, err := r.Targets(routeCtx(t), "bocongan.gov.vn"); err != nil || got[0].Via != "route" {
		t.Errorf("a route must beat the smarthost: %+v, %v", got, err)
	}
}

func TestTargetsContextCancel(t *testing.T) {
	r := &Router{Resolver: &fakeResolver{wait: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.Targets(ctx, "bocongan.gov.vn")
	checkError(t, err, "4.4.3", false)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("got %v after %v", err, time.Since(start))
	}
}
