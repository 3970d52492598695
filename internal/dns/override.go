package dns

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// maxCNAMEs bounds a chain of CNAMEs, which ends a loop too.
const maxCNAMEs = 8

// NewResolver answers from zone before fallback. A name with any record in zone is answered from zone alone: a
// type it lacks does not exist, however the fallback would answer. Other names go to fallback; with a nil fallback
// they do not exist. A nil zone has no names.
//
// TXT, MX and address lookups follow CNAMEs in zone, and ask fallback where one leads out of it. PTR lookups do not,
// since the fallback is asked for an address, not a name.
// MX records come sorted by preference, in file order among equals.
func NewResolver(zone *Zone, fallback Resolver) Resolver {
	if fallback == nil {
		fallback = nowhere{}
	}
	return &override{zone: zone, fallback: fallback}
}

// override is the Resolver NewResolver returns. The zone is never changed, so lookups may run concurrently.
type override struct {
	zone     *Zone
	fallback Resolver
}

// answer returns the records of the given types for name, following CNAMEs in the zone. When name, or the target of
// a CNAME, is not in the zone, it returns no records and the name to ask the fallback: name as the caller wrote it,
// or the target.
func (o *override) answer(name string, types ...string) (records []Record, ask string, err error) {
	at, ask := fqdn(name), name
	for hops := 0; ; hops++ {
		if !o.zone.Has(at) {
			return nil, ask, nil
		}
		for _, typ := range types {
			records = append(records, o.zone.Lookup(at, typ)...)
		}
		if len(records) > 0 {
			return records, "", nil
		}
		alias := o.zone.Lookup(at, "CNAME")
		if len(alias) == 0 {
			return nil, "", NotFound(name)
		}
		if hops == maxCNAMEs {
			return nil, "", &net.DNSError{Err: fmt.Sprintf("more than %d CNAMEs in a row (a loop?)", maxCNAMEs), Name: name}
		}
		at, ask = alias[0].Data, alias[0].Data
	}
}

func (o *override) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	records, ask, err := o.answer(name, "TXT")
	if err != nil {
		return nil, err
	}
	if records == nil {
		return o.fallback.LookupTXT(ctx, ask)
	}
	txt := make([]string, len(records))
	for i, r := range records {
		txt[i] = r.Data
	}
	return txt, nil
}

func (o *override) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	records, ask, err := o.answer(name, "MX")
	if err != nil {
		return nil, err
	}
	if records == nil {
		return o.fallback.LookupMX(ctx, ask)
	}
	mx := make([]*net.MX, len(records))
	for i, r := range records {
		pref, host, _ := strings.Cut(r.Data, " ")
		n, _ := strconv.ParseUint(pref, 10, 16) // the parser checked it
		mx[i] = &net.MX{Host: host, Pref: uint16(n)}
	}
	slices.SortStableFunc(mx, func(a, b *net.MX) int { return cmp.Compare(a.Pref, b.Pref) })
	return mx, nil
}

func (o *override) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return []net.IPAddr{{IP: ip.AsSlice(), Zone: ip.Zone()}}, nil
	}
	records, ask, err := o.answer(host, "A", "AAAA")
	if err != nil {
		return nil, err
	}
	if records == nil {
		return o.fallback.LookupIPAddr(ctx, ask)
	}
	addrs := make([]net.IPAddr, len(records))
	for i, r := range records {
		addrs[i] = net.IPAddr{IP: net.ParseIP(r.Data)}
	}
	return addrs, nil
}

func (o *override) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "unrecognized address", Name: addr}
	}
	name := reverseName(ip)
	if !o.zone.Has(name) {
		return o.fallback.LookupAddr(ctx, addr)
	}
	var hosts []string
	for _, r := range o.zone.Lookup(name, "PTR") {
		hosts = append(hosts, r.Data)
	}
	if hosts == nil {
		return nil, NotFound(addr)
	}
	return hosts, nil
}

// nowhere is the fallback of a zone that stands alone: every name it is asked about does not exist.
type nowhere struct{}

func (nowhere) LookupTXT(_ context.Context, name string) ([]string, error) {
	return nil, NotFound(name)
}

func (nowhere) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	return nil, NotFound(name)
}

func (nowhere) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	return nil, NotFound(host)
}

func (nowhere) LookupAddr(_ context.Context, addr string) ([]string, error) {
	return nil, NotFound(addr)
}
