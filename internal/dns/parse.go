package dns

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// LoadZone reads the override file at path.
func LoadZone(path string) (*Zone, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseZone(f, path)
}

// ParseZone reads records in master-file syntax (RFC 1035 section 5), the subset an override needs: $ORIGIN and $TTL, "@",
// relative names, a blank owner meaning the previous one, optional TTL and class IN, parentheses spanning lines, and
// the types MX, TXT, A, AAAA, CNAME, SRV and PTR. Errors name source and the line.
func ParseZone(r io.Reader, source string) (*Zone, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	entries, err := lex(data, source)
	if err != nil {
		return nil, err
	}
	p := &parser{zone: &Zone{byName: map[string][]Record{}}}
	for _, e := range entries {
		if err := p.entry(e); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", source, e.line, err)
		}
	}
	return p.zone, nil
}

// token is a word of the file: an unquoted word, or the text between quotes. Escapes are still in it, since what
// they mean depends on where the token is: a TXT value undoes them, a name refuses them.
type token struct {
	text   string
	quoted bool
}

// entry is a directive or a record: one line, or several joined by parentheses.
type entry struct {
	line      int  // where it starts
	sameOwner bool // the line starts with a blank: the record belongs to the previous owner
	tokens    []token
}

// lex splits data into entries, dropping comments and blank lines.
func lex(data []byte, source string) ([]entry, error) {
	lineError := func(line int, msg string) error { return fmt.Errorf("%s:%d: %s", source, line, msg) }
	var (
		entries []entry
		cur     entry
		line    = 1
		open    = 0 // line of an unclosed "(", or 0
	)
	blankStart := func(i int) bool { return i < len(data) && (data[i] == ' ' || data[i] == '\t') }
	sameOwner := blankStart(0)
	add := func(t token) {
		if len(cur.tokens) == 0 {
			cur.line, cur.sameOwner = line, sameOwner
		}
		cur.tokens = append(cur.tokens, t)
	}
	for i := 0; i < len(data); {
		switch c := data[i]; c {
		case '\n':
			line++
			i++
			if open == 0 {
				if len(cur.tokens) > 0 {
					entries = append(entries, cur)
				}
				cur = entry{}
				sameOwner = blankStart(i)
			}
		case ' ', '\t', '\r':
			i++
		case ';':
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case '(':
			if open != 0 {
				return nil, lineError(line, "'(' inside parentheses")
			}
			open = line
			i++
		case ')':
			if open == 0 {
				return nil, lineError(line, "')' without '('")
			}
			open = 0
			i++
		case '"':
			end := i + 1
			for ; end < len(data) && data[end] != '"'; end++ {
				if data[end] == '\n' {
					return nil, lineError(line, "quoted string not closed on its line")
				}
				if data[end] == '\\' && end+1 < len(data) && data[end+1] != '\n' {
					end++ // an escaped quote does not end the string
				}
			}
			if end == len(data) {
				return nil, lineError(line, "quoted string not closed on its line")
			}
			add(token{text: string(data[i+1 : end]), quoted: true})
			i = end + 1
		default:
			end := i
			for ; end < len(data) && !strings.ContainsRune(" \t\r\n;()\"", rune(data[end])); end++ {
				if data[end] == '\\' && end+1 < len(data) && data[end+1] != '\n' {
					end++
				}
			}
			add(token{text: string(data[i:end])})
			i = end
		}
	}
	if open != 0 {
		return nil, lineError(open, "'(' not closed")
	}
	if len(cur.tokens) > 0 {
		entries = append(entries, cur)
	}
	return entries, nil
}

// parser holds what earlier lines set for later ones.
type parser struct {
	origin string // $ORIGIN, or "" before one
	ttl    uint32 // $TTL
	owner  string // of the previous record
	zone   *Zone
}

// entry adds the record e holds to the zone, or carries out its directive.
func (p *parser) entry(e entry) error {
	tokens := e.tokens
	if first := tokens[0]; !e.sameOwner && !first.quoted && strings.HasPrefix(first.text, "$") {
		return p.directive(first.text, tokens[1:])
	}
	r := Record{Name: p.owner, TTL: p.ttl}
	if !e.sameOwner {
		name, err := p.name(tokens[0])
		if err != nil {
			return err
		}
		r.Name, tokens = name, tokens[1:]
	} else if p.owner == "" {
		return errors.New("line starts with a blank (same owner as the record before) but there is no record before")
	}

	var haveTTL, haveClass bool
classAndTTL:
	for ; len(tokens) > 0 && !tokens[0].quoted; tokens = tokens[1:] {
		switch t := tokens[0].text; {
		case !haveTTL && isDigit(t[0]):
			ttl, err := strconv.ParseUint(t, 10, 32)
			if err != nil {
				return fmt.Errorf("TTL %q is not a number of seconds from 0 to %d", t, uint32(math.MaxUint32))
			}
			r.TTL, haveTTL = uint32(ttl), true
		case !haveClass && strings.EqualFold(t, "IN"):
			haveClass = true
		case !haveClass && (strings.EqualFold(t, "CH") || strings.EqualFold(t, "HS")):
			return fmt.Errorf("class %s: only IN is supported", t)
		default:
			break classAndTTL
		}
	}
	if len(tokens) == 0 || tokens[0].quoted {
		return fmt.Errorf("record of %s has no type", r.Name)
	}
	r.Type = strings.ToUpper(tokens[0].text)
	data, err := p.data(r.Type, tokens[1:])
	if err != nil {
		return err
	}
	r.Data = data
	if err := p.zone.add(r); err != nil {
		return err
	}
	p.owner = r.Name
	return nil
}

// directive carries out $ORIGIN or $TTL.
func (p *parser) directive(name string, args []token) error {
	switch strings.ToUpper(name) {
	case "$ORIGIN":
		if len(args) != 1 {
			return errors.New("$ORIGIN needs one name")
		}
		origin, err := p.name(args[0])
		if err != nil {
			return fmt.Errorf("$ORIGIN: %w", err)
		}
		p.origin = origin
	case "$TTL":
		if len(args) != 1 {
			return errors.New("$TTL needs one number of seconds")
		}
		ttl, err := strconv.ParseUint(args[0].text, 10, 32)
		if err != nil || args[0].quoted {
			return fmt.Errorf("$TTL %q is not a number of seconds from 0 to %d", args[0].text, uint32(math.MaxUint32))
		}
		p.ttl = uint32(ttl)
	default:
		return fmt.Errorf("unsupported directive %s", name)
	}
	return nil
}

// data checks the data of a record of type typ and returns it in the form Record.Data holds.
func (p *parser) data(typ string, args []token) (string, error) {
	if typ == "TXT" {
		return txt(args)
	}
	for _, a := range args {
		if a.quoted {
			return "", fmt.Errorf("%s data %q must not be quoted", typ, a.text)
		}
	}
	switch typ {
	case "A", "AAAA":
		if len(args) != 1 {
			return "", fmt.Errorf("%s needs one address", typ)
		}
		family := "IPv4"
		if typ == "AAAA" {
			family = "IPv6"
		}
		ip, err := netip.ParseAddr(args[0].text)
		if err != nil || ip.Is4() != (typ == "A") || ip.Zone() != "" {
			return "", fmt.Errorf("%s: %q is not an %s address", typ, args[0].text, family)
		}
		return ip.String(), nil
	case "CNAME", "PTR":
		if len(args) != 1 {
			return "", fmt.Errorf("%s needs one host name", typ)
		}
		return p.name(args[0])
	case "MX":
		if len(args) != 2 {
			return "", errors.New("MX needs a preference and a host")
		}
		return p.numbersAndName("MX", args, "preference")
	case "SRV":
		if len(args) != 4 {
			return "", errors.New("SRV needs a priority, a weight, a port and a target")
		}
		return p.numbersAndName("SRV", args, "priority", "weight", "port")
	}
	return "", fmt.Errorf("unknown type %s (supported: MX, TXT, A, AAAA, CNAME, SRV, PTR)", typ)
}

// numbersAndName checks MX and SRV data: 16-bit numbers, then a host name.
func (p *parser) numbersAndName(typ string, args []token, numbers ...string) (string, error) {
	var data []string
	for i, what := range numbers {
		n, err := strconv.ParseUint(args[i].text, 10, 16)
		if err != nil {
			return "", fmt.Errorf("%s %s %q is not a number from 0 to 65535", typ, what, args[i].text)
		}
		data = append(data, strconv.FormatUint(n, 10))
	}
	host, err := p.name(args[len(numbers)])
	if err != nil {
		return "", err
	}
	return strings.Join(append(data, host), " "), nil
}

// txt joins the character-strings of a TXT record into its value.
func txt(args []token) (string, error) {
	if len(args) == 0 {
		return "", errors.New("TXT needs a value")
	}
	if len(args) == 1 {
		return unescape(args[0].text)
	}
	var value strings.Builder
	for _, a := range args {
		if !a.quoted {
			// As separate character-strings, unquoted words would be joined without the blanks between them:
			// v=spf1 mx -all would become "v=spf1mx-all".
			return "", fmt.Errorf("TXT word %q must be quoted (with more than one word, quote the whole value)", a.text)
		}
		s, err := unescape(a.text)
		if err != nil {
			return "", err
		}
		value.WriteString(s)
	}
	return value.String(), nil
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

// name makes a name absolute and lower-case, and checks it. "@" is $ORIGIN, and a name without the trailing dot is
// relative to it.
func (p *parser) name(t token) (string, error) {
	if t.quoted {
		return "", fmt.Errorf("name %q must not be quoted", t.text)
	}
	s := strings.ToLower(t.text)
	if s == "@" {
		if p.origin == "" {
			return "", errors.New("@ stands for $ORIGIN, but there is no $ORIGIN before it")
		}
		return p.origin, nil
	}
	if !strings.HasSuffix(s, ".") {
		if p.origin == "" {
			return "", fmt.Errorf("relative name %q but no $ORIGIN before it (write %q if it is absolute)", t.text, t.text+".")
		}
		s += "." + strings.TrimPrefix(p.origin, ".") // under the root origin ".", "a" is "a."
	}
	if err := checkName(s); err != nil {
		return "", err
	}
	return s, nil
}

// checkName accepts the absolute names of host names and service records: letters, digits, "-", "_", and "/" for
// classless reverse delegation (RFC 2317), in labels of at most 63 characters.
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
