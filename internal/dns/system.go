package dns

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	miekg "github.com/miekg/dns"
)

// Lifetimes of the answers System reports to a Cache: each record's TTL (RFC 1035 3.2.1), or for a name or record
// that does not exist the zone's negative TTL (RFC 2308 5), kept within these bounds.
const (
	// MinTTL: a burst of messages from one domain shares one answer, even when its records have TTL 0.
	MinTTL = 30 * time.Second
	// MaxTTL: a changed record (a new DKIM key, a moved MX) is seen within the hour, whatever its TTL, and so is the
	// end of an outage that made a name look absent.
	MaxTTL = time.Hour
)

// ResolvConf is where the system's nameservers are listed.
const ResolvConf = "/etc/resolv.conf"

const (
	// ednsSize is the UDP payload size offered (EDNS0, RFC 6891): the DNS Flag Day 2020 value, which avoids IP
	// fragmentation; larger answers (long DKIM keys, SPF with many TXT records) come again over TCP.
	ednsSize = 1232
	// resolvConfCheck is how often resolv.conf is looked at for a change, as Go's own resolver does.
	resolvConfCheck = 5 * time.Second
)

// System is the system resolver, with TTLs. TXT and MX lookups are asked of the nameservers in /etc/resolv.conf
// directly (with miekg/dns), so that a Cache keeps each answer for its own TTL instead of a fixed time. Addresses
// and reverse lookups go to Go's resolver, which reads /etc/hosts first: operators pin agency hosts there, and the
// forward check of a reverse name (RFC 7208 5.5) must see the same file. Their answers carry no TTL, so a Cache
// keeps them for DefaultCacheTTL.
//
// Names are asked as absolute names: mail domains are fully qualified (RFC 5321 2.3.5), so the search list of
// resolv.conf does not apply. A failure is a *net.DNSError without IsNotFound; a name or record that does not exist
// is one with IsNotFound, as with net.Resolver.
type System struct {
	conf  func() clientConf // the nameservers and how to ask them, as they stand
	hosts Resolver
}

// NewSystem is the system resolver of ResolvConf and /etc/hosts.
func NewSystem() *System {
	return &System{conf: newResolvConf(ResolvConf, time.Now).current, hosts: net.DefaultResolver}
}

// LookupTXT implements Resolver: one string per TXT record, its character-strings joined.
func (s *System) LookupTXT(ctx context.Context, name string) ([]string, error) {
	txt, _, err := s.lookupTXT(ctx, name)
	return txt, err
}

// LookupMX implements Resolver, sorted by preference.
func (s *System) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	mx, _, err := s.lookupMX(ctx, name)
	return mx, err
}

// LookupIPAddr implements Resolver with Go's resolver.
func (s *System) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	return s.hosts.LookupIPAddr(ctx, host)
}

// LookupAddr implements Resolver with Go's resolver.
func (s *System) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	return s.hosts.LookupAddr(ctx, addr)
}

func (s *System) lookupTXT(ctx context.Context, name string) ([]string, time.Duration, error) {
	rrs, ttl, err := s.query(ctx, name, miekg.TypeTXT)
	if err != nil {
		return nil, ttl, err
	}
	txt, err := txtStrings(name, rrs)
	return txt, ttl, err
}

// txtStrings is one string per TXT record of rrs, its character-strings joined.
func txtStrings(name string, rrs []miekg.RR) ([]string, error) {
	txt := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		rr, ok := rr.(*miekg.TXT)
		if !ok {
			continue
		}
		value, err := joinTXT(rr.Txt)
		if err != nil { // the library escapes what it reads: cannot happen
			return nil, &net.DNSError{Err: err.Error(), Name: name}
		}
		txt = append(txt, value)
	}
	return txt, nil
}

func (s *System) lookupMX(ctx context.Context, name string) ([]*net.MX, time.Duration, error) {
	rrs, ttl, err := s.query(ctx, name, miekg.TypeMX)
	if err != nil {
		return nil, ttl, err
	}
	mx, err := mxRecords(name, rrs)
	return mx, ttl, err
}

// mxRecords is the MX records of rrs sorted by preference. Like net.Resolver, it leaves out hosts that are no host
// names, and then says so with an error beside the others.
func mxRecords(name string, rrs []miekg.RR) ([]*net.MX, error) {
	var mx []*net.MX
	var err error
	for _, rr := range rrs {
		rr, ok := rr.(*miekg.MX)
		if !ok {
			continue
		}
		if checkName(fqdn(rr.Mx)) != nil {
			err = &net.DNSError{Err: "DNS response contained records which contain invalid names", Name: name}
			continue
		}
		mx = append(mx, &net.MX{Host: rr.Mx, Pref: rr.Preference})
	}
	slices.SortStableFunc(mx, func(a, b *net.MX) int { return cmp.Compare(a.Pref, b.Pref) })
	return mx, err
}

func (s *System) lookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, time.Duration, error) {
	addrs, err := s.hosts.LookupIPAddr(ctx, host)
	return addrs, DefaultCacheTTL, err
}

func (s *System) lookupAddr(ctx context.Context, addr string) ([]string, time.Duration, error) {
	names, err := s.hosts.LookupAddr(ctx, addr)
	return names, DefaultCacheTTL, err
}

// query asks the nameservers for the records of type qtype at name, each in turn, for as many rounds as resolv.conf
// allows, until one answers. It returns the records and how long they hold, or a not-found error and how long that
// holds, or the last failure.
func (s *System) query(ctx context.Context, name string, qtype uint16) ([]miekg.RR, time.Duration, error) {
	qname := fqdn(name)
	if checkName(qname) != nil {
		return nil, MinTTL, NotFound(name) // as net.Resolver: no such name can exist
	}
	conf := s.conf()
	var failure error
	for range conf.attempts {
		for _, server := range conf.servers {
			reply, err := exchange(ctx, server, qname, qtype, conf.timeout)
			if err == nil {
				return answer(name, qname, qtype, reply)
			}
			failure = lookupFailure(name, server, err)
			if ctx.Err() != nil {
				return nil, 0, failure
			}
		}
	}
	return nil, 0, failure
}

// exchange asks server one question over UDP, and again over TCP when the answer did not fit (RFC 7766 5), and
// checks that the reply answers it.
func exchange(ctx context.Context, server, qname string, qtype uint16, timeout time.Duration) (*miekg.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	query := new(miekg.Msg)
	query.SetQuestion(qname, qtype) // a new random ID each time
	query.SetEdns0(ednsSize, false)
	reply, _, err := (&miekg.Client{Net: "udp", Timeout: timeout}).ExchangeContext(ctx, query, server)
	if reply != nil && reply.Truncated {
		reply, _, err = (&miekg.Client{Net: "tcp", Timeout: timeout}).ExchangeContext(ctx, query, server)
	}
	if err != nil {
		return nil, err
	}
	return reply, checkReply(query, reply)
}

// checkReply refuses a reply that does not answer query, and one that a working recursive resolver would not give:
// a failure (SERVFAIL, REFUSED and the like) or a lame referral. Another server may do better.
func checkReply(query, reply *miekg.Msg) error {
	q := query.Question[0]
	if !reply.Response || len(reply.Question) != 1 || !strings.EqualFold(reply.Question[0].Name, q.Name) ||
		reply.Question[0].Qtype != q.Qtype || reply.Question[0].Qclass != q.Qclass {
		return errors.New("reply to another question")
	}
	switch reply.Rcode {
	case miekg.RcodeSuccess, miekg.RcodeNameError:
	default:
		return fmt.Errorf("server answered %s", miekg.RcodeToString[reply.Rcode])
	}
	// No answer, from a server that neither recurses nor is the authority, and no SOA saying the record does not
	// exist: a referral to other servers, not an answer (Go's resolver calls it a lame referral too).
	if reply.Rcode == miekg.RcodeSuccess && len(reply.Answer) == 0 && !reply.Authoritative &&
		!reply.RecursionAvailable && soa(reply) == nil {
		return errors.New("lame referral: the server does not recurse")
	}
	return nil
}

// answer reads the records of type qtype at qname from reply, following the CNAMEs of its answer section, and how
// long they hold: the least TTL on the way. No record means that the name or the record does not exist, for as
// long as the negative TTL says.
func answer(name, qname string, qtype uint16, reply *miekg.Msg) ([]miekg.RR, time.Duration, error) {
	ttl := uint32(math.MaxUint32)
	owner := qname
	for hops := 0; ; hops++ {
		var records []miekg.RR
		var alias *miekg.CNAME
		for _, rr := range reply.Answer {
			h := rr.Header()
			if h.Class != miekg.ClassINET || !strings.EqualFold(h.Name, owner) {
				continue
			}
			if h.Rrtype == qtype {
				records = append(records, rr)
			} else if cname, ok := rr.(*miekg.CNAME); ok {
				alias = cname
			}
		}
		if len(records) > 0 {
			for _, rr := range records {
				ttl = min(ttl, rr.Header().Ttl)
			}
			return records, clampTTL(ttl), nil
		}
		if alias == nil || hops == maxCNAMEs {
			return nil, clampTTL(min(ttl, negativeTTL(reply))), NotFound(name)
		}
		ttl = min(ttl, alias.Hdr.Ttl)
		owner = alias.Target
	}
}

// negativeTTL is how long "does not exist" holds: the lesser of the SOA record's TTL and its MINIMUM field
// (RFC 2308 5). Without an SOA, 0: kept for MinTTL.
func negativeTTL(reply *miekg.Msg) uint32 {
	if s := soa(reply); s != nil {
		return min(s.Hdr.Ttl, s.Minttl)
	}
	return 0
}

func soa(reply *miekg.Msg) *miekg.SOA {
	for _, rr := range reply.Ns {
		if s, ok := rr.(*miekg.SOA); ok {
			return s
		}
	}
	return nil
}

func clampTTL(seconds uint32) time.Duration {
	return min(max(time.Duration(seconds)*time.Second, MinTTL), MaxTTL)
}

// lookupFailure is err, from asking server about name, as the *net.DNSError callers classify: temporary, and a
// timeout when it is one.
func lookupFailure(name, server string, err error) error {
	var netErr net.Error
	timeout := errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout()
	return &net.DNSError{Err: err.Error(), Name: name, Server: server, IsTimeout: timeout, IsTemporary: true}
}

// resolvConf is resolv.conf as it stands: read again when it changes, looked at no more than every
// resolvConfCheck, so that a new nameserver (DHCP, a VPN) is used without a restart.
type resolvConf struct {
	path string
	now  func() time.Time
	port string // "53"; a test's server listens elsewhere

	mu      sync.Mutex
	checked time.Time // zero: never read
	modTime time.Time
	conf    clientConf
}

// clientConf is what resolv.conf says about asking nameservers.
type clientConf struct {
	servers  []string // host:port
	timeout  time.Duration
	attempts int
}

func newResolvConf(path string, now func() time.Time) *resolvConf {
	return &resolvConf{path: path, now: now, port: "53"}
}

// current is the configuration, read again if the file changed.
func (r *resolvConf) current() clientConf {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if !r.checked.IsZero() && now.Sub(r.checked) < resolvConfCheck {
		return r.conf
	}
	first := r.checked.IsZero()
	r.checked = now
	var modTime time.Time
	if fi, err := os.Stat(r.path); err == nil {
		modTime = fi.ModTime()
	}
	if first || !modTime.Equal(r.modTime) {
		r.modTime = modTime
		r.conf = r.read()
	}
	return r.conf
}

// read reads the file. Without one, or without a nameserver in it, the nameserver is the local host's, as for
// the C library and Go.
func (r *resolvConf) read() clientConf {
	conf := clientConf{timeout: 5 * time.Second, attempts: 2}
	if c, err := miekg.ClientConfigFromFile(r.path); err == nil {
		for _, server := range c.Servers {
			conf.servers = append(conf.servers, net.JoinHostPort(server, r.port))
		}
		conf.timeout = time.Duration(c.Timeout) * time.Second
		conf.attempts = c.Attempts
	}
	if len(conf.servers) == 0 {
		conf.servers = []string{net.JoinHostPort("127.0.0.1", r.port), net.JoinHostPort("::1", r.port)}
	}
	return conf
}
