package dns

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	miekg "github.com/miekg/dns"
)

// nameserver is a DNS server on a loopback address, over UDP and TCP on one port, that answers from a table.
type nameserver struct {
	addr string // host:port

	mu      sync.Mutex
	answers map[string]answerFunc // by "TYPE name."
	asked   []string              // "udp TXT a.gov.vn." for each question
}

// answerFunc fills reply (already a NOERROR reply to the question, with recursion available) for a question that
// came over TCP or not. Leaving reply nil sends nothing.
type answerFunc func(reply **miekg.Msg, tcp bool)

// startNameserver starts a nameserver on ip (127.0.0.1 or another loopback address); port 0 picks one free on
// both UDP and TCP.
func startNameserver(t *testing.T, ip, port string) *nameserver {
	t.Helper()
	ns := &nameserver{answers: map[string]answerFunc{}}
	var udp net.PacketConn
	var tcp net.Listener
	var err error
	for range 20 { // the UDP port may be taken on TCP
		if udp, err = net.ListenPacket("udp", net.JoinHostPort(ip, port)); err != nil {
			t.Fatal(err)
		}
		if tcp, err = net.Listen("tcp", udp.LocalAddr().String()); err == nil {
			break
		}
		udp.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	ns.addr = udp.LocalAddr().String()
	for _, srv := range []*miekg.Server{{PacketConn: udp, Handler: ns}, {Listener: tcp, Handler: ns}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	return ns
}

func (ns *nameserver) ServeDNS(w miekg.ResponseWriter, query *miekg.Msg) {
	_, tcp := w.RemoteAddr().(*net.TCPAddr)
	q := query.Question[0]
	key := miekg.Type(q.Qtype).String() + " " + q.Name
	ns.mu.Lock()
	ns.asked = append(ns.asked, map[bool]string{true: "tcp ", false: "udp "}[tcp]+key)
	answer := ns.answers[key]
	ns.mu.Unlock()
	reply := new(miekg.Msg)
	reply.SetReply(query)
	reply.RecursionAvailable = true
	if answer == nil {
		reply.Rcode = miekg.RcodeNameError
	} else {
		answer(&reply, tcp)
	}
	if reply != nil {
		w.WriteMsg(reply)
	}
}

// answer sets what the server answers to "TYPE name.".
func (ns *nameserver) answer(key string, f answerFunc) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.answers[key] = f
}

// records answers key with the records written as zone-file lines.
func (ns *nameserver) records(t *testing.T, key string, lines ...string) {
	t.Helper()
	var rrs []miekg.RR
	for _, line := range lines {
		rr, err := miekg.NewRR(line)
		if err != nil {
			t.Fatal(err)
		}
		rrs = append(rrs, rr)
	}
	ns.answer(key, func(reply **miekg.Msg, _ bool) { (*reply).Answer = rrs })
}

// negative answers key with rcode and, unless soaLine is empty, that SOA record in the authority section.
func (ns *nameserver) negative(t *testing.T, key string, rcode int, soaLine string) {
	t.Helper()
	var authority []miekg.RR
	if soaLine != "" {
		rr, err := miekg.NewRR(soaLine)
		if err != nil {
			t.Fatal(err)
		}
		authority = append(authority, rr)
	}
	ns.answer(key, func(reply **miekg.Msg, _ bool) { (*reply).Rcode, (*reply).Ns = rcode, authority })
}

func (ns *nameserver) questions() []string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return slices.Clone(ns.asked)
}

// systemOf is a System that asks servers in turn, each try bounded by timeout, and answers addresses from hosts.
func systemOf(hosts Resolver, attempts int, timeout time.Duration, servers ...*nameserver) *System {
	conf := clientConf{timeout: timeout, attempts: attempts}
	for _, ns := range servers {
		conf.servers = append(conf.servers, ns.addr)
	}
	return &System{conf: func() clientConf { return conf }, hosts: hosts}
}

// clockedCache is a Cache of r whose clock the test moves.
func clockedCache(r Resolver) (*Cache, *time.Time) {
	c := NewCache(r, 0, 0)
	clock := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return clock }
	return c, &clock
}

func TestSystemTXT(t *testing.T) {
	ns := startNameserver(t, "127.0.0.1", "0")
	ns.records(t, "TXT a.gov.vn.",
		`a.gov.vn. 120 IN TXT "v=spf1 mx -all"`,
		`a.gov.vn. 300 IN TXT "v=DKIM1; " "p=MIIB" "say \"hi\" \\ \000\255"`)
	s := systemOf(nil, 1, 5*time.Second, ns)
	txt, ttl, err := s.lookupTXT(context.Background(), "A.gov.vn")
	want := []string{"v=spf1 mx -all", "v=DKIM1; p=MIIBsay \"hi\" \\ \x00\xff"}
	if err != nil || !slices.Equal(txt, want) || ttl != 120*time.Second {
		t.Errorf("lookupTXT = %q, %v, %v; want %q for the least TTL, 2m0s", txt, ttl, err, want)
	}
	if txt, err := s.LookupTXT(context.Background(), "a.gov.vn."); err != nil || !slices.Equal(txt, want) {
		t.Errorf("LookupTXT = %q, %v", txt, err)
	}
}

// TestCacheKeepsAnswersForTheirTTL: each answer is kept for its own TTL, within MinTTL and MaxTTL, rather than a
// fixed five minutes.
func TestCacheKeepsAnswersForTheirTTL(t *testing.T) {
	ns := startNameserver(t, "127.0.0.1", "0")
	ns.records(t, "TXT two-minutes.gov.vn.", `two-minutes.gov.vn. 120 IN TXT "x"`)
	ns.records(t, "TXT zero.gov.vn.", `zero.gov.vn. 0 IN TXT "x"`)
	ns.records(t, "TXT one-day.gov.vn.", `one-day.gov.vn. 86400 IN TXT "x"`)
	ns.records(t, "MX a.gov.vn.", `a.gov.vn. 600 IN MX 10 mail.a.gov.vn.`)
	c, clock := clockedCache(systemOf(nil, 1, 5*time.Second, ns))
	start := *clock
	for _, tc := range []struct {
		key      string
		lifetime time.Duration
	}{
		{"TXT two-minutes.gov.vn.", 2 * time.Minute},
		{"TXT zero.gov.vn.", MinTTL},
		{"TXT one-day.gov.vn.", MaxTTL},
		{"MX a.gov.vn.", 10 * time.Minute},
	} {
		typ, name, _ := strings.Cut(tc.key, " ")
		lookup := func() {
			var err error
			if typ == "MX" {
				_, err = c.LookupMX(context.Background(), name)
			} else {
				_, err = c.LookupTXT(context.Background(), name)
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.key, err)
			}
		}
		*clock = start
		lookup()
		*clock = start.Add(tc.lifetime - time.Second)
		lookup()
		if n := count(ns.questions(), "udp "+tc.key); n != 1 {
			t.Errorf("%s: asked %d times within %v, want once", tc.key, n, tc.lifetime)
		}
		*clock = start.Add(tc.lifetime)
		lookup()
		if n := count(ns.questions(), "udp "+tc.key); n != 2 {
			t.Errorf("%s: asked %d times by the end of %v, want twice", tc.key, n, tc.lifetime)
		}
	}
}

// TestCacheKeepsNotFoundForTheNegativeTTL: "does not exist" is kept for the lesser of the SOA's TTL and MINIMUM
// (RFC 2308 5), within MinTTL and MaxTTL; without an SOA, for MinTTL.
func TestCacheKeepsNotFoundForTheNegativeTTL(t *testing.T) {
	ns := startNameserver(t, "127.0.0.1", "0")
	ns.negative(t, "TXT gone.gov.vn.", miekg.RcodeNameError, "gov.vn. 900 IN SOA ns.gov.vn. admin.gov.vn. 1 7200 900 86400 600")
	ns.negative(t, "TXT empty.gov.vn.", miekg.RcodeSuccess, "gov.vn. 120 IN SOA ns.gov.vn. admin.gov.vn. 1 7200 900 86400 3600")
	ns.negative(t, "TXT long.gov.vn.", miekg.RcodeNameError, "gov.vn. 86400 IN SOA ns.gov.vn. admin.gov.vn. 1 7200 900 86400 86400")
	ns.negative(t, "TXT bare.gov.vn.", miekg.RcodeNameError, "")
	c, clock := clockedCache(systemOf(nil, 1, 5*time.Second, ns))
	start := *clock
	for name, lifetime := range map[string]time.Duration{
		"gone.gov.vn.":  10 * time.Minute,
		"empty.gov.vn.": 2 * time.Minute,
		"long.gov.vn.":  MaxTTL,
		"bare.gov.vn.":  MinTTL,
	} {
		for _, at := range []time.Duration{0, lifetime - time.Second, lifetime} {
			*clock = start.Add(at)
			if _, err := c.LookupTXT(context.Background(), name); !IsNotFound(err) {
				t.Fatalf("%s: %v, want not found", name, err)
			}
		}
		if n := count(ns.questions(), "udp TXT "+name); n != 2 {
			t.Errorf("%s: asked %d times, want once within %v and again after", name, n, lifetime)
		}
	}
}

// TestSystemFailuresAreTemporary: a server failure, a refusal, a lame referral, a reply to another question and a
// timeout are failures, not "does not exist", and the cache does not keep them. The next server is tried.
func TestSystemFailuresAreTemporary(t *testing.T) {
	ns := startNameserver(t, "127.0.0.1", "0")
	ns.negative(t, "TXT servfail.gov.vn.", miekg.RcodeServerFailure, "")
	ns.negative(t, "TXT refused.gov.vn.", miekg.RcodeRefused, "")
	ns.answer("TXT lame.gov.vn.", func(reply **miekg.Msg, _ bool) { (*reply).RecursionAvailable = false })
	ns.answer("TXT other.gov.vn.", func(reply **miekg.Msg, _ bool) {
		(*reply).Question[0].Name = "another.gov.vn."
		(*reply).Answer = []miekg.RR{&miekg.TXT{Hdr: miekg.RR_Header{Name: "another.gov.vn.", Rrtype: miekg.TypeTXT,
			Class: miekg.ClassINET, Ttl: 60}, Txt: []string{"forged"}}}
	})
	ns.answer("TXT silent.gov.vn.", func(reply **miekg.Msg, _ bool) { *reply = nil })
	good := startNameserver(t, "127.0.0.1", "0")
	for _, name := range []string{"servfail", "refused", "lame", "other", "silent"} {
		good.records(t, "TXT "+name+".gov.vn.", name+`.gov.vn. 60 IN TXT "from the second server"`)
	}
	ctx := context.Background()

	c, _ := clockedCache(systemOf(nil, 2, 200*time.Millisecond, ns))
	for _, name := range []string{"servfail", "refused", "lame", "other", "silent"} {
		for range 2 {
			_, err := c.LookupTXT(ctx, name+".gov.vn")
			var de *net.DNSError
			if !errors.As(err, &de) || de.IsNotFound || !de.IsTemporary || de.Server != ns.addr {
				t.Fatalf("%s: %#v, want a temporary *net.DNSError from %s", name, err, ns.addr)
			}
			if name == "silent" && !de.IsTimeout {
				t.Errorf("silent server: %v, want a timeout", err)
			}
		}
		// Two lookups, not kept between them, each trying twice.
		if n := count(ns.questions(), "udp TXT "+name+".gov.vn."); n != 4 {
			t.Errorf("%s: asked %d times, want 4", name, n)
		}
	}

	s := systemOf(nil, 1, 200*time.Millisecond, ns, good)
	for _, name := range []string{"servfail", "refused", "lame", "other", "silent"} {
		if txt, err := s.LookupTXT(ctx, name+".gov.vn"); err != nil || !slices.Equal(txt, []string{"from the second server"}) {
			t.Errorf("%s, then a good server: %q, %v", name, txt, err)
		}
	}
}

// TestSystemTruncatedAnswerOverTCP: an answer too long for UDP is asked for again over TCP.
func TestSystemTruncatedAnswerOverTCP(t *testing.T) {
	ns := startNameserver(t, "127.0.0.1", "0")
	key := strings.Repeat("QUJD", 400)
	rr := &miekg.TXT{Hdr: miekg.RR_Header{Name: "k._domainkey.a.gov.vn.", Rrtype: miekg.TypeTXT, Class: miekg.ClassINET,
		Ttl: 3600}, Txt: []string{"v=DKIM1; k=rsa; p="}}
	for rest := key; rest != ""; rest = rest[min(255, len(rest)):] {
		rr.Txt = append(rr.Txt, rest[:min(255, len(rest))])
	}
	ns.answer("TXT k._domainkey.a.gov.vn.", func(reply **miekg.Msg, tcp bool) {
		(*reply).Answer = []miekg.RR{rr}
		(*reply).Truncated = !tcp
		if !tcp {
			(*reply).Answer = nil
		}
	})
	txt, err := systemOf(nil, 1, 5*time.Second, ns).LookupTXT(context.Background(), "k._domainkey.a.gov.vn")
	if err != nil || len(txt) != 1 || txt[0] != "v=DKIM1; k=rsa; p="+key {
		t.Errorf("LookupTXT = %d records, %v", len(txt), err)
	}
	want := []string{"udp TXT k._domainkey.a.gov.vn.", "tcp TXT k._domainkey.a.gov.vn."}
	if got := ns.questions(); !slices.Equal(got, want) {
		t.Errorf("asked %q, want %q", got, want)
	}
}

func TestSystemMXAndCNAME(t *testing.T) {
	ns := startNameserver(t, "127.0.0.1", "0")
	ns.records(t, "MX a.gov.vn.",
		"a.gov.vn. 300 IN MX 20 mx2.a.gov.vn.",
		"a.gov.vn. 300 IN MX 10 MX1.a.gov.vn.",
		"a.gov.vn. 300 IN MX 20 mx3.a.gov.vn.")
	ns.records(t, "MX bad.gov.vn.",
		`bad.gov.vn. 300 IN MX 10 mx\032one.bad.gov.vn.`,
		"bad.gov.vn. 300 IN MX 20 mx2.bad.gov.vn.")
	// The resolver follows a CNAME and answers with both; the answer holds as long as the shorter TTL.
	ns.records(t, "TXT _dmarc.alias.gov.vn.",
		"_dmarc.alias.gov.vn. 90 IN CNAME _dmarc.a.gov.vn.",
		`_dmarc.a.gov.vn. 3600 IN TXT "v=DMARC1; p=reject"`,
		`unrelated.gov.vn. 10 IN TXT "not asked for"`)
	ns.negative(t, "MX nomx.gov.vn.", miekg.RcodeSuccess, "gov.vn. 60 IN SOA ns.gov.vn. admin.gov.vn. 1 7200 900 86400 600")
	s := systemOf(nil, 1, 5*time.Second, ns)
	ctx := context.Background()

	mx, ttl, err := s.lookupMX(ctx, "a.gov.vn")
	if err != nil || hosts(mx) != "10 MX1.a.gov.vn., 20 mx2.a.gov.vn., 20 mx3.a.gov.vn." || ttl != 5*time.Minute {
		t.Errorf("lookupMX = %s, %v, %v", hosts(mx), ttl, err)
	}
	// Like net.Resolver: the usable records, and an error about the others.
	mx, err = s.LookupMX(ctx, "bad.gov.vn")
	if err == nil || IsNotFound(err) || hosts(mx) != "20 mx2.bad.gov.vn." {
		t.Errorf("MX with a malformed host = %s, %v", hosts(mx), err)
	}
	if _, ttl, err := s.lookupMX(ctx, "nomx.gov.vn"); !IsNotFound(err) || ttl != time.Minute {
		t.Errorf("no MX: %v for %v, want not found for 1m0s", err, ttl)
	}
	txt, ttl, err := s.lookupTXT(ctx, "_dmarc.alias.gov.vn")
	if err != nil || !slices.Equal(txt, []string{"v=DMARC1; p=reject"}) || ttl != 90*time.Second {
		t.Errorf("TXT through a CNAME = %q, %v, %v", txt, ttl, err)
	}
	// A name that cannot exist is not asked about.
	if _, err := s.LookupTXT(ctx, "bad name.gov.vn"); !IsNotFound(err) {
		t.Errorf("invalid name: %v", err)
	}
	if got := ns.questions(); slices.ContainsFunc(got, func(q string) bool { return strings.Contains(q, "bad name") }) {
		t.Errorf("asked %q", got)
	}
}

// TestSystemAddressesFromHosts: addresses and reverse names come from Go's resolver (and /etc/hosts), kept for the
// default lifetime; the nameservers are not asked.
func TestSystemAddressesFromHosts(t *testing.T) {
	ns := startNameserver(t, "127.0.0.1", "0")
	hosts := &fake{}
	c, clock := clockedCache(systemOf(hosts, 1, 5*time.Second, ns))
	ctx := context.Background()
	start := *clock
	for _, at := range []time.Duration{0, DefaultCacheTTL - time.Second, DefaultCacheTTL} {
		*clock = start.Add(at)
		if ips, err := c.LookupIPAddr(ctx, "mail.a.gov.vn"); err != nil || len(ips) != 1 {
			t.Fatalf("LookupIPAddr = %v, %v", ips, err)
		}
		if names, err := c.LookupAddr(ctx, "192.0.2.25"); err != nil || len(names) != 1 {
			t.Fatalf("LookupAddr = %v, %v", names, err)
		}
	}
	want := []string{"IP mail.a.gov.vn", "PTR 192.0.2.25", "IP mail.a.gov.vn", "PTR 192.0.2.25"}
	if got := hosts.asked(); !slices.Equal(got, want) {
		t.Errorf("Go's resolver asked %q, want %q", got, want)
	}
	if got := ns.questions(); len(got) != 0 {
		t.Errorf("nameserver asked %q", got)
	}
}

// TestRecordsFileBeforeSystem: the records file answers the names it has; the others go to the nameservers.
func TestRecordsFileBeforeSystem(t *testing.T) {
	ns := startNameserver(t, "127.0.0.1", "0")
	ns.records(t, "TXT b.gov.vn.", `b.gov.vn. 60 IN TXT "from DNS"`)
	r := NewResolver(mustParse(t, `a.gov.vn. TXT "from the file"`), NewCache(systemOf(nil, 1, 5*time.Second, ns), 0, 0))
	for name, want := range map[string]string{"a.gov.vn": "from the file", "b.gov.vn": "from DNS"} {
		if txt, err := r.LookupTXT(context.Background(), name); err != nil || !slices.Equal(txt, []string{want}) {
			t.Errorf("%s: %q, %v", name, txt, err)
		}
	}
	if got := ns.questions(); !slices.Equal(got, []string{"udp TXT b.gov.vn."}) {
		t.Errorf("nameserver asked %q", got)
	}
}

// TestResolvConfReread: a change to resolv.conf is seen within resolvConfCheck, without a restart.
func TestResolvConfReread(t *testing.T) {
	first := startNameserver(t, "127.0.0.1", "0")
	_, port, _ := net.SplitHostPort(first.addr)
	second := startNameserver(t, "127.0.0.2", port)
	for _, ns := range []*nameserver{first, second} {
		ns.records(t, "TXT a.gov.vn.", `a.gov.vn. 60 IN TXT "`+ns.addr+`"`)
	}
	path := filepath.Join(t.TempDir(), "resolv.conf")
	write := func(text string, modTime time.Time) {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, modTime, modTime); err != nil {
			t.Fatal(err)
		}
	}
	clock := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	conf := newResolvConf(path, func() time.Time { return clock })
	conf.port = port
	s := &System{conf: conf.current}
	ask := func() string {
		t.Helper()
		txt, err := s.LookupTXT(context.Background(), "a.gov.vn")
		if err != nil || len(txt) != 1 {
			t.Fatalf("LookupTXT = %q, %v", txt, err)
		}
		return txt[0]
	}

	write("search gov.vn\nnameserver 127.0.0.1\noptions timeout:3 attempts:4\n", clock)
	if got := ask(); got != first.addr {
		t.Errorf("asked %s, want %s", got, first.addr)
	}
	if c := conf.current(); c.timeout != 3*time.Second || c.attempts != 4 {
		t.Errorf("timeout %v, attempts %d; want 3s, 4", c.timeout, c.attempts)
	}
	write("nameserver 127.0.0.2\n", clock.Add(time.Second))
	clock = clock.Add(resolvConfCheck - time.Second)
	if got := ask(); got != first.addr {
		t.Errorf("within %v of the last look: asked %s, want %s", resolvConfCheck, got, first.addr)
	}
	clock = clock.Add(time.Second)
	if got := ask(); got != second.addr {
		t.Errorf("after the change: asked %s, want %s", got, second.addr)
	}

	// No file: the local host's nameserver, on the port.
	os.Remove(path)
	clock = clock.Add(resolvConfCheck)
	if c := conf.current(); !slices.Equal(c.servers, []string{"127.0.0.1:" + port, "[::1]:" + port}) {
		t.Errorf("without resolv.conf: servers %q", c.servers)
	}
}

// FuzzReply: whatever a nameserver sends back, reading it must not panic, and an answer holds for MinTTL to MaxTTL.
func FuzzReply(f *testing.F) {
	query := new(miekg.Msg)
	query.SetQuestion("a.gov.vn.", miekg.TypeTXT)
	for _, records := range [][]string{
		{`a.gov.vn. 60 IN TXT "v=spf1 mx -all" "\000"`},
		{"a.gov.vn. 60 IN CNAME b.gov.vn.", `b.gov.vn. 0 IN TXT "x"`, "b.gov.vn. 10 IN MX 10 mx.gov.vn."},
		{"a.gov.vn. 60 IN CNAME a.gov.vn."},
		{"a.gov.vn. 60 IN MX 10 mx\\032.gov.vn."},
	} {
		reply := new(miekg.Msg)
		reply.SetReply(query)
		for _, line := range records {
			rr, err := miekg.NewRR(line)
			if err != nil {
				f.Fatal(err)
			}
			reply.Answer = append(reply.Answer, rr)
		}
		wire, err := reply.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(wire)
	}
	f.Fuzz(func(t *testing.T, wire []byte) {
		reply := new(miekg.Msg)
		if reply.Unpack(wire) != nil || checkReply(query, reply) != nil {
			return
		}
		for _, qtype := range []uint16{miekg.TypeTXT, miekg.TypeMX} {
			rrs, ttl, err := answer("a.gov.vn", "a.gov.vn.", qtype, reply)
			if ttl < MinTTL || ttl > MaxTTL || (err == nil) == (len(rrs) == 0) {
				t.Fatalf("answer = %v, %v, %v", rrs, ttl, err)
			}
			txtStrings("a.gov.vn", rrs)
			mxRecords("a.gov.vn", rrs)
		}
	})
}
