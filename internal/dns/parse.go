package dns

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"

	miekg "github.com/miekg/dns"
)

// maxRecords bounds a records file: far more than any agency's overrides, and a stop for a $GENERATE gone wrong.
// A variable so that a test can lower it.
var maxRecords = 100_000

// LoadZone reads the override file at path.
func LoadZone(path string) (*Zone, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseZone(f, path)
}

// ParseZone reads records in master-file syntax (RFC 1035 section 5) with miekg/dns's zone parser: $ORIGIN, $TTL
// and $GENERATE, "@", relative names, a blank owner meaning the previous one, TTLs in seconds or units (1h30m),
// class IN, parentheses spanning lines. Of the record types it keeps MX, TXT, A, AAAA, CNAME, SRV and PTR, and
// refuses the others. Errors name source and the line.
func ParseZone(r io.Reader, source string) (*Zone, error) {
	in := newLineCounter(r)
	zp := miekg.NewZoneParser(in, "", "")
	zone := &Zone{byName: map[string][]Record{}}
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if len(zone.records) == maxRecords {
			return nil, fmt.Errorf("%s:%d: more than %d records", source, in.line(), maxRecords)
		}
		rec, err := record(rr)
		if err == nil {
			err = zone.add(rec)
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", source, in.line(), err)
		}
	}
	if err := zp.Err(); err != nil {
		return nil, parseError(source, in.line(), err)
	}
	return zone, nil
}

// defaultTTL goes before the file: a record without a TTL then has $TTL's, or none (0), as Record.String writes
// it. Without it the parser would give such a record the TTL of the record before (RFC 1035 section 5.1).
const defaultTTL = "$TTL 0\n"

// lineCounter hands the parser defaultTTL and then the file one byte at a time (as an io.ByteReader, which the
// parser reads without a buffer of its own), counting lines: when the parser returns a record, it has read up to
// the end of that record's last line.
type lineCounter struct {
	prefix   string
	r        *bufio.Reader
	newlines int  // in the file, not the prefix
	last     byte // the last byte of the file read
}

func newLineCounter(r io.Reader) *lineCounter {
	return &lineCounter{prefix: defaultTTL, r: bufio.NewReader(r)}
}

func (l *lineCounter) ReadByte() (byte, error) {
	if l.prefix != "" {
		c := l.prefix[0]
		l.prefix = l.prefix[1:]
		return c, nil
	}
	c, err := l.r.ReadByte()
	if err != nil {
		return 0, err
	}
	if c == '\n' {
		l.newlines++
	}
	l.last = c
	return c, nil
}

func (l *lineCounter) Read(p []byte) (int, error) {
	n := 0
	for ; n < len(p); n++ {
		c, err := l.ReadByte()
		if err != nil {
			return n, err
		}
		p[n] = c
	}
	return n, nil
}

// line is the line the parser is on: the last line of the record it returned last.
func (l *lineCounter) line() int {
	if l.last == '\n' {
		return l.newlines
	}
	return l.newlines + 1
}

// record is rr as the zone keeps it, checked for what the parser lets through: other types and classes, a blank
// owner on the first record, a type without data at the end of the file, names that are no host names.
func record(rr miekg.RR) (Record, error) {
	h := rr.Header()
	if h.Name == "" {
		return Record{}, errors.New("line starts with a blank (same owner as the record before) but there is no record before")
	}
	if h.Class != miekg.ClassINET {
		return Record{}, fmt.Errorf("class %s: only IN is supported", miekg.Class(h.Class))
	}
	if err := checkName(fqdn(h.Name)); err != nil {
		return Record{}, err
	}
	rec, err := recordData(h.Name, rr)
	rec.TTL = h.Ttl
	return rec, err
}

// recordData is the Record of one of the seven types this file holds. The parser returns a record whose data
// is missing at the end of the file (as for a dynamic update, RFC 2136), so each type checks that it has data.
func recordData(name string, rr miekg.RR) (Record, error) {
	typ := miekg.Type(rr.Header().Rrtype).String()
	switch rr := rr.(type) {
	case *miekg.MX:
		host, err := targetName(typ, rr.Mx)
		return MX(name, rr.Preference, host), err
	case *miekg.SRV:
		host, err := targetName(typ, rr.Target)
		return SRV(name, rr.Priority, rr.Weight, rr.Port, host), err
	case *miekg.CNAME:
		host, err := targetName(typ, rr.Target)
		return CNAME(name, host), err
	case *miekg.PTR:
		host, err := targetName(typ, rr.Ptr)
		return Record{Name: fqdn(name), Type: typ, Data: host}, err
	case *miekg.A:
		ip, ok := netip.AddrFromSlice(rr.A.To4())
		if !ok {
			return Record{}, errors.New("A needs an IPv4 address")
		}
		return Address(name, ip), nil
	case *miekg.AAAA:
		ip, ok := netip.AddrFromSlice(rr.AAAA.To16())
		if !ok {
			return Record{}, errors.New("AAAA needs an IPv6 address")
		}
		return Address(name, ip), nil
	case *miekg.TXT:
		value, err := txtValue(rr.Txt)
		return TXT(name, value), err
	}
	return Record{}, fmt.Errorf("unsupported type %s (supported: MX, TXT, A, AAAA, CNAME, SRV, PTR)", typ)
}

// targetName checks the host name a record of type typ points at, and makes it lower-case.
func targetName(typ, host string) (string, error) {
	if host == "" {
		return "", fmt.Errorf("%s has no host name", typ)
	}
	host = fqdn(host)
	return host, checkName(host)
}

// txtValue is the value of a TXT record of the file: its character-strings joined.
func txtValue(strs []string) (string, error) {
	if len(strs) == 0 {
		return "", errors.New("TXT needs a value")
	}
	v, err := joinTXT(strs)
	if err == nil && len(strs) > 1 && joinedSPF(v) {
		// Unquoted words are separate character-strings, joined without the blanks between them (RFC 1035 3.3.14).
		return "", fmt.Errorf("TXT strings join to %q, which is no SPF record (RFC 7208 4.5): quote a value of several words as one string", v)
	}
	return v, err
}

// joinTXT joins the character-strings of a TXT record into its value, undoing the escapes that miekg/dns leaves in
// them, whether it read them from a file or from the wire.
func joinTXT(strs []string) (string, error) {
	var value strings.Builder
	for _, s := range strs {
		raw, err := unescape(s)
		if err != nil {
			return "", err
		}
		value.WriteString(raw)
	}
	return value.String(), nil
}

// joinedSPF reports whether v starts as an SPF record but is none: "v=spf1" not followed by a blank, which is
// what `TXT v=spf1 mx -all` becomes when its words are not quoted.
func joinedSPF(v string) bool {
	const version = "v=spf1"
	return len(v) > len(version) && strings.EqualFold(v[:len(version)], version) && v[len(version)] != ' '
}

// unescape undoes master-file escapes: \DDD is the byte with decimal value DDD, and \X is X.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch {
		case i == len(s):
			return "", fmt.Errorf(`%q ends in a lone \`, s)
		case isDigit(s[i]):
			if i+3 > len(s) || !isDigit(s[i+1]) || !isDigit(s[i+2]) {
				return "", fmt.Errorf(`%q: \ and a digit must be \DDD, three digits`, s)
			}
			n, _ := strconv.Atoi(s[i : i+3]) // three digits: cannot fail
			if n > 255 {
				return "", fmt.Errorf(`%q: \%s is not a byte value`, s, s[i:i+3])
			}
			b.WriteByte(byte(n))
			i += 2
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// checkName accepts the absolute names of host names and service records: letters, digits, "-", "_", and "/" for
// classless reverse delegation (RFC 2317), in labels of at most 63 characters. So it refuses wildcards and
// escapes, which the override does not follow.
func checkName(s string) error {
	if s == "." {
		return nil
	}
	if len(s) > 254 {
		return fmt.Errorf("name %q is longer than 253 characters", s)
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" {
			return fmt.Errorf("name %q has an empty label", s)
		}
		if len(label) > 63 {
			return fmt.Errorf("name %q has a label longer than 63 characters", s)
		}
		for _, c := range label {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '/') {
				return fmt.Errorf("name %q: %q is not allowed in a name", s, c)
			}
		}
	}
	return nil
}

// parseErrorText is how miekg/dns's ParseError reads: "dns: " what, the token where it stopped, and its line.
var parseErrorText = regexp.MustCompile(`(?s)^dns: (.*): ("(?:[^"\\]|\\.)*") at line: (\d+):\d+$`)

// nameFields are the parser's messages about a name that it could not take, and which name each is about.
var nameFields = map[string]string{
	"bad owner name":   "owner",
	"bad origin name":  "$ORIGIN",
	"bad MX Mx":        "MX host",
	"bad CNAME Target": "CNAME target",
	"bad PTR Ptr":      "PTR host",
	"bad SRV Target":   "SRV target",
}

// parseProblems says in words what the parser's other terse messages mean. The lexer's own messages come as the
// token of the record's.
var parseProblems = map[string]string{
	"bad MX Pref":                       "MX preference is not a number from 0 to 65535",
	"bad SRV Priority":                  "SRV priority is not a number from 0 to 65535",
	"bad SRV Weight":                    "SRV weight is not a number from 0 to 65535",
	"bad SRV Port":                      "SRV port is not a number from 0 to 65535",
	"bad A A":                           "A needs one IPv4 address",
	"bad AAAA AAAA":                     "AAAA needs one IPv6 address",
	"bad TXT Txt":                       "TXT value is not quoted strings or words (a quote not closed?)",
	"not a TTL":                         "not a known record type, nor a TTL (seconds, or units as in 1h30m)",
	"expecting $TTL value, not this...": "$TTL is not a number of seconds (or units as in 1h30m)",
	"garbage after rdata":               "more on the line than the record or directive takes",
	"expecting RR type, TTL or class, not this...": "expected a record type, TTL or class",
	"expecting RR type or class, not this...":      "expected a record type or class",
	"expecting RR type or TTL, not this...":        "expected a record type or TTL",
	"unexpected newline":                           "the record has no data",
	"$INCLUDE directive not allowed":               "$INCLUDE is not supported: put the records in this file",
	"syntax error at beginning":                    "a line must start with a name, a blank or a directive",
	"unknown RR type":                              "unknown record type",
	"unbalanced brace":                             "'(' not closed",
	"extra closing brace":                          "')' without '('",
}

// parseError turns the parser's error into "source:line: what is wrong", with the token where it stopped. The line
// is the one the parser was reading, since its own count restarts in the records a $GENERATE line writes; but
// when it looked ahead for a record's data and found none, the record's line is its own.
func parseError(source string, line int, err error) error {
	m := parseErrorText.FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("%s:%d: %w", source, line, err)
	}
	what := m[1]
	token, _ := strconv.Unquote(m[2]) // quoted by the parser: cannot fail
	if what == "unexpected newline" {
		n, _ := strconv.Atoi(m[3]) // digits: cannot fail
		line = n - strings.Count(defaultTTL, "\n")
	}
	at := fmt.Sprintf("%s:%d", source, line)
	if words, ok := parseProblems[token]; ok {
		return fmt.Errorf("%s: %s", at, words) // the lexer's message, in the record's
	}
	if field, ok := nameFields[what]; ok {
		return fmt.Errorf("%s: %s", at, nameProblem(field, token))
	}
	if words, ok := parseProblems[what]; ok {
		what = words
	}
	if strings.TrimSpace(token) == "" {
		return fmt.Errorf("%s: %s", at, what)
	}
	return fmt.Errorf("%s: %s: %q", at, what, token)
}

// nameProblem says why the parser could not take name as field. It takes every host name that checkName does,
// so one that passes was relative with no $ORIGIN to complete it.
func nameProblem(field, name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return field + " is missing"
	case name == "@":
		return field + ": @ stands for $ORIGIN, but there is no $ORIGIN before it"
	}
	if err := checkName(fqdn(name)); err != nil {
		return field + ": " + err.Error()
	}
	return fmt.Sprintf("%s: relative name %q but no $ORIGIN before it (write %q if it is absolute)", field, name, name+".")
}
