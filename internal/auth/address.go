package auth

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// AddressOwned reports whether address is one of owned, ignoring case,
// Unicode normalisation form and surrounding space in both. Local parts are compared case-insensitively
// too: RFC 5321 allows a server to treat them as case-sensitive, but no
// mail system in use does, and people type addresses any way they like.
func AddressOwned(address string, owned []string) bool {
	a := fold(address)
	if a == "" {
		return false
	}
	for _, o := range owned {
		if fold(o) == a {
			return true
		}
	}
	return false
}

// fold is the comparison form of an address: trimmed, lower-cased, NFC.
func fold(s string) string { return norm.NFC.String(strings.ToLower(strings.TrimSpace(s))) }

// NormalizeAddress returns s trimmed, lower-cased and NFC-normalised (so
// that Vietnamese letters typed as base letter + combining marks match the
// precomposed form), after checking that it is local@domain with a dot-atom
// local part (RFC 5322 section 3.2.3, UTF-8 allowed as in RFC 6531) and a
// domain of valid labels. Internationalised domains stay in Unicode: IDNA
// conversion needs golang.org/x/net/idna, which the module does not use.
func NormalizeAddress(s string) (string, error) {
	addr := fold(s)
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "", fmt.Errorf("address %q: missing @", s)
	}
	local, domain := addr[:at], addr[at+1:]
	if err := checkLocal(local); err != nil {
		return "", fmt.Errorf("address %q: %w", s, err)
	}
	if err := checkDomain(domain); err != nil {
		return "", fmt.Errorf("address %q: %w", s, err)
	}
	return addr, nil
}

// checkLocal accepts a dot-atom: atext runs separated by single dots.
// Quoted local parts are refused: legal, but never used for real
// mailboxes and a frequent source of parser disagreements.
func checkLocal(local string) error {
	switch {
	case local == "":
		return errors.New("empty local part")
	case len(local) > 64: // RFC 5321 section 4.5.3.1.1
		return errors.New("local part longer than 64 bytes")
	}
	for _, atom := range strings.Split(local, ".") {
		if atom == "" {
			return errors.New("local part has an empty dot-separated part")
		}
		for _, r := range atom {
			if !isAtext(r) {
				return fmt.Errorf("local part has invalid character %q", r)
			}
		}
	}
	return nil
}

func isAtext(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case r > unicode.MaxASCII:
		return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
	}
	return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

// checkDomain accepts host names made of letter-digit-hyphen labels,
// Unicode letters included; address literals ([192.0.2.1]) are refused.
func checkDomain(domain string) error {
	switch {
	case domain == "":
		return errors.New("empty domain")
	case len(domain) > 253:
		return errors.New("domain longer than 253 bytes")
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("invalid domain %q", domain)
		}
		for _, r := range label {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
				return fmt.Errorf("invalid domain %q", domain)
			}
		}
	}
	return nil
}
