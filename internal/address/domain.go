package address

import (
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/idna"
)

const maxLabel = 63 // octets (RFC 1035 section 2.3.4)

// idnaProfile converts internationalised names: UTS #46 lookup mapping (case, width and compatibility mappings,
// NFC), IDNA2008 validity, the Bidi rule, non-transitional (ß stays ß). Hyphens are checked here instead, on every
// label: the profile's check would refuse an ASCII label with "--" in third and fourth place, which names in use
// have (r3---sn-example), while it would let the ASCII path below accept them.
var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false), idna.CheckHyphens(false))

// ParseDomain reads a domain alone, as domain and route names are given: a host name (never an address literal),
// with one final dot allowed, returned as it is stored and compared: lower-case A-labels without the final dot.
func ParseDomain(s string) (string, error) {
	d, reason := hostName(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if reason != "" {
		return "", &Error{Input: s, Reason: reason, domain: true}
	}
	return d, nil
}

// addressDomain reads the part of an address after its '@': a host name or an address literal.
func addressDomain(s string) (string, string) {
	if s == "" {
		return "", "the part after '@' is empty"
	}
	if strings.HasPrefix(s, "[") {
		return addressLiteral(s)
	}
	d, reason := hostName(s)
	if reason != "" {
		return "", "bad domain: " + reason
	}
	return d, ""
}

// hostName returns s in lower-case A-labels, or says what is wrong with it.
func hostName(s string) (string, string) {
	if s == "" {
		return "", "it is empty; use a name like vinhyen.gov.vn"
	}
	ascii := strings.ToLower(s)
	if !isASCII(s) || hasACELabel(ascii) {
		var reason string
		if ascii, reason = toASCII(s); reason != "" {
			return "", reason
		}
	}
	return ascii, labelsProblem(ascii)
}

// toASCII converts a name with Unicode or xn-- labels. An xn-- label must already be the one its Unicode form
// encodes to, so that no two spellings of a name get different keys.
func toASCII(s string) (string, string) {
	ascii, err := idnaProfile.ToASCII(s)
	if err != nil {
		return "", fmt.Sprintf("it is not a valid internationalised name (%s)", strings.TrimPrefix(err.Error(), "idna: "))
	}
	if isASCII(s) && ascii != strings.ToLower(s) {
		return "", "an xn-- label is not in the form its letters encode to"
	}
	unicode, err := idnaProfile.ToUnicode(ascii)
	if err != nil {
		return "", fmt.Sprintf("it is not a valid internationalised name (%s)", strings.TrimPrefix(err.Error(), "idna: "))
	}
	for label := range strings.SplitSeq(unicode, ".") {
		if strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return "", "a label starts or ends with '-'"
		}
	}
	return ascii, ""
}

func hasACELabel(lower string) bool {
	return strings.HasPrefix(lower, "xn--") || strings.Contains(lower, ".xn--")
}

// labelsProblem checks a name in ASCII form, or returns "".
func labelsProblem(d string) string {
	if len(d) > MaxDomain {
		return fmt.Sprintf("longer than %d characters", MaxDomain)
	}
	var label string
	for label = range strings.SplitSeq(d, ".") {
		switch {
		case label == "":
			return "it has an empty label (two dots in a row, or a dot at the start)"
		case len(label) > maxLabel:
			return fmt.Sprintf("a label is longer than %d characters", maxLabel)
		case label[0] == '-' || label[len(label)-1] == '-':
			return "a label starts or ends with '-'"
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "use only letters, digits, '-' and '.'"
			}
		}
	}
	if strings.Trim(label, "0123456789") == "" {
		return "the last label is all digits, which no top-level domain is (an IP address is written [192.0.2.1])"
	}
	return ""
}

// addressLiteral reads [IPv4] or [IPv6:address] (RFC 5321 section 4.1.3) into its canonical form.
func addressLiteral(s string) (string, string) {
	const want = "bad domain: write an address literal as [192.0.2.1] or [IPv6:2001:db8::1]"
	inner, ok := strings.CutSuffix(s[1:], "]")
	if !ok {
		return "", want
	}
	v6 := len(inner) > 5 && strings.EqualFold(inner[:5], "IPv6:")
	if v6 {
		inner = inner[5:]
	}
	ip, err := netip.ParseAddr(inner)
	switch {
	case err != nil, ip.Zone() != "", v6 != ip.Is6():
		return "", want
	case v6:
		return "[IPv6:" + ip.String() + "]", ""
	}
	return "[" + ip.String() + "]", ""
}

func isLiteral(domain string) bool { return strings.HasPrefix(domain, "[") }
