package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fake stands in for the system resolver: it answers every question with something that names the question, and
// remembers what it was asked.
type fake struct {
	mu    sync.Mutex
	calls []string
}

func (f *fake) called(query string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, query)
}

func (f *fake) asked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fake) LookupTXT(_ context.Context, name string) ([]string, error) {
	f.called("TXT " + name)
	return []string{"from fallback for " + name}, nil
}

func (f *fake) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	f.called("MX " + name)
	return []*net.MX{{Host: "mx.fallback.", Pref: 1}}, nil
}

func (f *fake) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	f.called("IP " + host)
	return []net.IPAddr{{IP: net.ParseIP("198.51.100.1")}}, nil
}

func (f *fake) LookupAddr(_ context.Context, addr string) ([]string, error) {
	f.called("PTR " + addr)
	return []string{"ptr.fallback."}, nil
}

const overrideZone = `
$ORIGIN a.gov.vn.
@           MX   20 mx2
@           MX   10 mx1
@           MX   20 mx3
@           MX   5  mx0
@           TXT  "v=spf1 mx -all"
@           TXT  ( "first record, "
                   "two strings" )
mail        A    192.0.2.25
mail        AAAA 2001:db8::25
mail        MX   10 mail
autoconfig  CNAME mail
alias1      CNAME alias2
alias2      CNAME @
outside     CNAME www.example.org.
loop1       CNAME loop2
loop2       CNAME loop1
25.2.0.192.in-addr.arpa.  PTR mail
25.2.0.192.in-addr.arpa.  PTR mail2
5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR mail
26.2.0.192.in-addr.arpa.  TXT "no PTR here"
`

func newOverride(t *testing.T) (Resolver, *fake) {
	t.Helper()
	f := &fake{}
	return NewResolver(mustParse(t, overrideZone), f), f
}

func hosts(mx []*net.MX) string {
	var s []string
	for _, m := range mx {
		s = append(s, fmt.Sprintf("%d %s", m.Pref, m.Host))
	}
	return strings.Join(s, ", ")
}

func TestZoneIsAuthoritativeForItsNames(t *testing.T) {
	r, f := newOverride(t)
	ctx := context.Background()

	// mail.a.gov.vn has A, AAAA and MX but no TXT: the zone says there is none.
	if txt, err := r.LookupTXT(ctx, "mail.a.gov.vn"); !IsNotFound(err) {
		t.Errorf("TXT of a name in the zone without TXT = %q, %v; want not found", txt, err)
	}
	if _, err := r.LookupAddr(ctx, "192.0.2.26"); !IsNotFound(err) {
		t.Errorf("PTR of a reverse name in the zone without PTR: %v, want not found", err)
	}
	if _, err := r.LookupMX(ctx, "autoconfig.a.gov.vn"); err != nil {
		t.Errorf("MX through a CNAME: %v", err)
	}
	if calls := f.asked(); len(calls) != 0 {
		t.Errorf("fallback asked %v about names the zone has", calls)
	}

	// Names the zone does not have go to the fallback as the caller wrote them.
	txt, err := r.LookupTXT(ctx, "Gov.VN")
	if err != nil || !slices.Equal(txt, []string{"from fallback for Gov.VN"}) {
		t.Errorf("TXT of a name outside the zone = %q, %v", txt, err)
	}
	r.LookupMX(ctx, "b.gov.vn.")
	r.LookupIPAddr(ctx, "www.a.gov.vn")
	r.LookupAddr(ctx, "192.0.2.99")
	want := []string{"TXT Gov.VN", "MX b.gov.vn.", "IP www.a.gov.vn", "PTR 192.0.2.99"}
	if calls := f.asked(); !slices.Equal(calls, want) {
		t.Errorf("fallback asked %q, want %q", calls, want)
	}
}

func TestNilFallbackAndNilZone(t *testing.T) {
	ctx := context.Background()
	alone := NewResolver(mustParse(t, overrideZone), nil)
	if mx, err := alone.LookupMX(ctx, "a.gov.vn"); err != nil || len(mx) != 4 {
		t.Errorf("zone alone: MX = %s, %v", hosts(mx), err)
	}
	for name, err := range map[string]error{
		"TXT": func() error { _, err := alone.LookupTXT(ctx, "b.gov.vn"); return err }(),
		"MX":  func() error { _, err := alone.LookupMX(ctx, "b.gov.vn"); return err }(),
		"IP":  func() error { _, err := alone.LookupIPAddr(ctx, "b.gov.vn"); return err }(),
		"PTR": func() error { _, err := alone.LookupAddr(ctx, "192.0.2.99"); return err }(),
		// a CNAME that leads out of the zone, with nowhere to follow it
		"CNAME": func() error { _, err := alone.LookupTXT(ctx, "outside.a.gov.vn"); return err }(),
	} {
		if !IsNotFound(err) {
			t.Errorf("zone alone, %s outside it: %v, want not found", name, err)
		}
	}

	f := &fake{}
	if txt, err := NewResolver(nil, f).LookupTXT(ctx, "a.gov.vn"); err != nil || len(txt) != 1 {
		t.Errorf("no zone: TXT = %q, %v", txt, err)
	}
	if calls := f.asked(); !slices.Equal(calls, []string{"TXT a.gov.vn"}) {
		t.Errorf("no zone: fallback asked %q", calls)
	}
	if _, err := NewResolver(nil, nil).LookupIPAddr(ctx, "a.gov.vn"); !IsNotFound(err) {
		t.Errorf("no zone, no fallback: %v", err)
	}
}

func TestNameForms(t *testing.T) {
	r, f := newOverride(t)
	for _, name := range []string{"a.gov.vn", "a.gov.vn.", "A.GOV.VN", "A.Gov.Vn."} {
		if mx, err := r.LookupMX(context.Background(), name); err != nil || len(mx) != 4 {
			t.Errorf("MX %s = %s, %v", name, hosts(mx), err)
		}
	}
	if calls := f.asked(); len(calls) != 0 {
		t.Errorf("fallback asked %q", calls)
	}
}

func TestLookupMXSortsByPreference(t *testing.T) {
	r, _ := newOverride(t)
	mx, err := r.LookupMX(context.Background(), "a.gov.vn")
	// Equal preferences keep file order.
	if want := "5 mx0.a.gov.vn., 10 mx1.a.gov.vn., 20 mx2.a.gov.vn., 20 mx3.a.gov.vn."; err != nil || hosts(mx) != want {
		t.Errorf("MX = %s, %v; want %s", hosts(mx), err, want)
	}
}

func TestLookupTXTOneStringPerRecord(t *testing.T) {
	r, _ := newOverride(t)
	txt, err := r.LookupTXT(context.Background(), "a.gov.vn")
	if want := []string{"v=spf1 mx -all", "first record, two strings"}; err != nil || !slices.Equal(txt, want) {
		t.Errorf("TXT = %q, %v; want %q", txt, err, want)
	}

	long := strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 10)
	z := mustParse(t, TXT("rsa._domainkey.a.gov.vn", "v=DKIM1; k=rsa; p="+long).String())
	txt, err = NewResolver(z, nil).LookupTXT(context.Background(), "rsa._domainkey.a.gov.vn")
	if err != nil || len(txt) != 1 || txt[0] != "v=DKIM1; k=rsa; p="+long {
		t.Errorf("split TXT = %q, %v; want one joined string", txt, err)
	}
}

func TestCNAME(t *testing.T) {
	r, f := newOverride(t)
	ctx := context.Background()

	addrs, err := r.LookupIPAddr(ctx, "autoconfig.a.gov.vn")
	if err != nil || len(addrs) != 2 || addrs[0].String() != "192.0.2.25" || addrs[1].String() != "2001:db8::25" {
		t.Errorf("addresses through a CNAME = %v, %v", addrs, err)
	}
	mx, err := r.LookupMX(ctx, "autoconfig.a.gov.vn")
	if err != nil || hosts(mx) != "10 mail.a.gov.vn." {
		t.Errorf("MX through a CNAME = %s, %v", hosts(mx), err)
	}
	txt, err := r.LookupTXT(ctx, "alias1.a.gov.vn") // alias1 → alias2 → a.gov.vn
	if err != nil || len(txt) != 2 {
		t.Errorf("TXT through two CNAMEs = %q, %v", txt, err)
	}
	if _, err := r.LookupTXT(ctx, "autoconfig.a.gov.vn"); !IsNotFound(err) {
		t.Errorf("TXT the target lacks: %v, want not found", err)
	}
	if calls := f.asked(); len(calls) != 0 {
		t.Errorf("fallback asked %q", calls)
	}

	txt, err = r.LookupTXT(ctx, "outside.a.gov.vn")
	if err != nil || !slices.Equal(txt, []string{"from fallback for www.example.org."}) {
		t.Errorf("TXT through a CNAME out of the zone = %q, %v", txt, err)
	}
	r.LookupMX(ctx, "outside.a.gov.vn")
	r.LookupIPAddr(ctx, "outside.a.gov.vn")
	want := []string{"TXT www.example.org.", "MX www.example.org.", "IP www.example.org."}
	if calls := f.asked(); !slices.Equal(calls, want) {
		t.Errorf("fallback asked %q, want %q", calls, want)
	}
}

func TestCNAMELoopAndLongChain(t *testing.T) {
	r, f := newOverride(t)
	_, err := r.LookupTXT(context.Background(), "loop1.a.gov.vn")
	var de *net.DNSError
	if !errors.As(err, &de) || de.IsNotFound || !strings.Contains(de.Err, "more than 8 CNAMEs") || de.Name != "loop1.a.gov.vn" {
		t.Errorf("CNAME loop: %v", err)
	}
	if calls := f.asked(); len(calls) != 0 {
		t.Errorf("fallback asked %q", calls)
	}

	// chain(n) is n CNAMEs in a row, c0 → c1 → … → cn, and cn has the TXT record.
	chain := func(n int) Resolver {
		var zone strings.Builder
		for i := range n {
			fmt.Fprintf(&zone, "c%d. CNAME c%d.\n", i, i+1)
		}
		fmt.Fprintf(&zone, "c%d. TXT end\n", n)
		return NewResolver(mustParse(t, zone.String()), nil)
	}
	if txt, err := chain(8).LookupTXT(context.Background(), "c0"); err != nil || !slices.Equal(txt, []string{"end"}) {
		t.Errorf("8 CNAMEs: %q, %v", txt, err)
	}
	if _, err := chain(9).LookupTXT(context.Background(), "c0"); err == nil || IsNotFound(err) {
		t.Errorf("9 CNAMEs: %v, want an error", err)
	}
}

func TestLookupIPAddr(t *testing.T) {
	r, f := newOverride(t)
	ctx := context.Background()
	for _, literal := range []string{"192.0.2.7", "2001:db8::7", "fe80::1%eth0"} {
		addrs, err := r.LookupIPAddr(ctx, literal)
		if err != nil || len(addrs) != 1 || addrs[0].String() != literal {
			t.Errorf("LookupIPAddr(%s) = %v, %v", literal, addrs, err)
		}
	}
	addrs, err := r.LookupIPAddr(ctx, "MAIL.a.gov.vn.")
	if err != nil || len(addrs) != 2 || !addrs[0].IP.Equal(net.ParseIP("192.0.2.25")) || !addrs[1].IP.Equal(net.ParseIP("2001:db8::25")) {
		t.Errorf("addresses = %v, %v", addrs, err)
	}
	if _, err := r.LookupIPAddr(ctx, "a.gov.vn"); !IsNotFound(err) {
		t.Errorf("name with MX only: %v, want not found", err)
	}
	if calls := f.asked(); len(calls) != 0 {
		t.Errorf("fallback asked %q", calls)
	}
}

func TestLookupAddr(t *testing.T) {
	r, f := newOverride(t)
	ctx := context.Background()
	for addr, want := range map[string][]string{
		"192.0.2.25":        {"mail.a.gov.vn.", "mail2.a.gov.vn."},
		"::ffff:192.0.2.25": {"mail.a.gov.vn.", "mail2.a.gov.vn."},
		"2001:DB8::25":      {"mail.a.gov.vn."},
	} {
		if got, err := r.LookupAddr(ctx, addr); err != nil || !slices.Equal(got, want) {
			t.Errorf("LookupAddr(%s) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := r.LookupAddr(ctx, "mail.a.gov.vn"); err == nil || IsNotFound(err) {
		t.Errorf("LookupAddr of a name: %v, want an error", err)
	}
	if calls := f.asked(); len(calls) != 0 {
		t.Errorf("fallback asked %q", calls)
	}
}

func TestCancelledContext(t *testing.T) {
	r, f := newOverride(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, lookup := range []func() error{
		func() error { _, err := r.LookupTXT(ctx, "a.gov.vn"); return err },
		func() error { _, err := r.LookupMX(ctx, "b.gov.vn"); return err },
		func() error { _, err := r.LookupIPAddr(ctx, "192.0.2.1"); return err },
		func() error { _, err := r.LookupAddr(ctx, "192.0.2.99"); return err },
	} {
		if err := lookup(); !errors.Is(err, context.Canceled) {
			t.Errorf("lookup with a cancelled context: %v", err)
		}
	}
	if calls := f.asked(); len(calls) != 0 {
		t.Errorf("fallback asked %q", calls)
	}
}

// TestConcurrentLookups lets the race detector see lookups from many goroutines, as SMTP sessions make them.
func TestConcurrentLookups(t *testing.T) {
	r, _ := newOverride(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				r.LookupMX(context.Background(), "a.gov.vn")
				r.LookupTXT(context.Background(), "outside.a.gov.vn")
			}
		})
	}
	wg.Wait()
}
