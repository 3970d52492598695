package dns

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Record is one resource record of an override file.
type Record struct {
	Name string // absolute and lower-case, with the trailing dot
	TTL  uint32 // 0: not given
	Type string // "MX", "TXT", "A", "AAAA", "CNAME", "SRV" or "PTR"

	// Data is what follows the type in a zone file ("10 mail.a.gov.vn." for MX), with names absolute and
	// lower-case. For TXT it is the value itself: the character-strings concatenated, without quotes or escapes.
	Data string
}

// String is the record as one line of a zone file, which ParseZone reads back to the same Record.
func (r Record) String() string {
	var b strings.Builder
	b.WriteString(r.Name)
	if r.TTL != 0 {
		b.WriteString(" " + strconv.FormatUint(uint64(r.TTL), 10))
	}
	b.WriteString(" IN " + r.Type + " ")
	if r.Type == "TXT" {
		quoteTXT(&b, r.Data)
	} else {
		b.WriteString(r.Data)
	}
	return b.String()
}

// maxString is the longest character-string RFC 1035 allows; longer TXT values are published as several.
const maxString = 255

// quoteTXT writes v as quoted strings of at most maxString bytes each. It escapes what would end the string or the
// line, and bytes that are not UTF-8, so that the line stays text.
func quoteTXT(b *strings.Builder, v string) {
	for first := true; first || v != ""; first = false {
		n := min(len(v), maxString)
		// Split between characters rather than inside one, so each string reads on its own.
		for back := 0; back < utf8.UTFMax-1 && n < len(v) && !utf8.RuneStart(v[n]); back++ {
			n--
		}
		if !first {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		for s := v[:n]; s != ""; {
			c, size := utf8.DecodeRuneInString(s)
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(s[0])
			case c < ' ' || c == 0x7f || c == utf8.RuneError && size == 1:
				fmt.Fprintf(b, `\%03d`, s[0])
			default:
				b.WriteString(s[:size])
			}
			s = s[size:]
		}
		b.WriteByte('"')
		v = v[n:]
	}
}

// TXT is a TXT record; value may be longer than a single character-string can hold.
func TXT(name, value string) Record {
	return Record{Name: fqdn(name), Type: "TXT", Data: value}
}

// MX is an MX record: mail for name goes to host.
func MX(name string, preference uint16, host string) Record {
	return Record{Name: fqdn(name), Type: "MX", Data: fmt.Sprintf("%d %s", preference, fqdn(host))}
}

// SRV is an SRV record (RFC 2782), such as _submission._tcp.a.gov.vn pointing mail clients at port 587.
func SRV(name string, priority, weight, port uint16, target string) Record {
	return Record{Name: fqdn(name), Type: "SRV", Data: fmt.Sprintf("%d %d %d %s", priority, weight, port, fqdn(target))}
}

// CNAME is a CNAME record: name is an alias of target.
func CNAME(name, target string) Record {
	return Record{Name: fqdn(name), Type: "CNAME", Data: fqdn(target)}
}

// Address is the A record of an IPv4 address, or the AAAA record of an IPv6 one.
func Address(name string, ip netip.Addr) Record {
	typ := "AAAA"
	if ip.Is4() {
		typ = "A"
	}
	return Record{Name: fqdn(name), Type: typ, Data: ip.String()}
}

// PTR is the reverse record of ip, naming host.
func PTR(ip netip.Addr, host string) Record {
	return Record{Name: reverseName(ip), Type: "PTR", Data: fqdn(host)}
}

// fqdn is name as the zone stores it: lower-case, with the trailing dot.
func fqdn(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// reverseName is the name under in-addr.arpa or ip6.arpa that holds the PTR records of ip.
func reverseName(ip netip.Addr) string {
	ip = ip.Unmap()
	b := ip.AsSlice()
	var s strings.Builder
	for i := len(b) - 1; i >= 0; i-- {
		if ip.Is4() {
			fmt.Fprintf(&s, "%d.", b[i])
		} else {
			fmt.Fprintf(&s, "%x.%x.", b[i]&0xf, b[i]>>4)
		}
	}
	if ip.Is4() {
		return s.String() + "in-addr.arpa."
	}
	return s.String() + "ip6.arpa."
}

// Zone is the records of an override file. A nil *Zone has no records.
type Zone struct {
	records []Record            // in file order
	byName  map[string][]Record // the same records, by name
}

// add appends r, refusing a CNAME that shares its name with another record: a CNAME makes its name an alias, so
// anything else at that name would never be seen (RFC 1034, 3.6.2).
func (z *Zone) add(r Record) error {
	for _, other := range z.byName[r.Name] {
		if other.Type == "CNAME" || r.Type == "CNAME" {
			return fmt.Errorf("%s has a CNAME and another record; a CNAME must be the only record of its name", r.Name)
		}
	}
	z.records = append(z.records, r)
	z.byName[r.Name] = append(z.byName[r.Name], r)
	return nil
}

// Records returns all records in file order.
func (z *Zone) Records() []Record {
	if z == nil {
		return nil
	}
	return slices.Clone(z.records)
}

// Has reports whether the zone has any record for name (with or without the trailing dot, in any case).
func (z *Zone) Has(name string) bool {
	return z != nil && len(z.byName[fqdn(name)]) > 0
}

// Lookup returns the records of type typ (such as "MX") for name, in file order.
func (z *Zone) Lookup(name, typ string) []Record {
	if z == nil {
		return nil
	}
	var found []Record
	for _, r := range z.byName[fqdn(name)] {
		if strings.EqualFold(r.Type, typ) {
			found = append(found, r)
		}
	}
	return found
}
