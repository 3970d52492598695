package mailauth

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"

	"mailserver/internal/address"
)

// normalizeDomain returns name as lookups and comparisons use it: A-labels, lower case, no trailing dot. ok is false
// for anything that is not a domain name of at least two labels (an address literal, a bare host name, junk).
func normalizeDomain(name string) (string, bool) {
	name = strings.TrimSuffix(name, ".")
	if strings.IndexFunc(name, func(r rune) bool { return r >= utf8.RuneSelf }) >= 0 {
		ascii, err := address.ParseDomain(name) // the same A-labels as the directory's
		if err != nil {
			return "", false
		}
		name = ascii
	}
	name = strings.ToLower(name)
	if !isDNSName(name) || !strings.Contains(name, ".") {
		return "", false
	}
	return name, true
}

// isDNSName reports whether name (without a trailing dot) can be asked about: labels of 1 to 63 letters, digits,
// hyphens and underscores (for _dmarc and _domainkey), 253 bytes in all.
func isDNSName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for _, l := range strings.Split(name, ".") {
		if l == "" || len(l) > 63 || strings.Trim(l, ldhu) != "" {
			return false
		}
	}
	return true
}

const ldhu = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

// orgDomain is the organisational domain of RFC 7489 3.2: the registered name under its public suffix. gov.vn is a
// public suffix, so each agency (hanoi.gov.vn) is its own organisation. A name that is itself a public suffix is
// its own organisational domain.
func orgDomain(domain string) string {
	org, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return domain
	}
	return org
}
