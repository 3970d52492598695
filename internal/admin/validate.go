package admin

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"mailserver/internal/address"
	"mailserver/internal/auth"
)

// Limits on directory fields; package address has those of addresses.
const (
	maxNameRunes     = 128
	maxUnitBytes     = 255
	maxPasswordBytes = 1024
	maxActorBytes    = 64
)

// cleanDomain returns name as it is stored (lower-case A-labels, no final dot: package address), or an ErrInvalid
// error saying what is wrong with it. A name given in Unicode (vĩnhyên.gov.vn) is stored in its xn-- form.
func cleanDomain(name string) (string, error) {
	d, err := address.ParseDomain(name)
	if err != nil {
		return "", &Error{Kind: ErrInvalid, Msg: err.Error()}
	}
	return d, nil
}

// cleanAddress returns an address as it is stored and compared (its address key) with its domain, or an ErrInvalid
// error. It takes any valid address, other agencies' included: see cleanNewAddress for one being created.
func cleanAddress(s string) (addr, domain string, err error) {
	return addressKey(address.Parse(s))
}

// cleanNewAddress is cleanAddress for the address of a new user, shared mailbox, alias or group, which takes the
// stricter rule for addresses created here (address.ParseNew).
func cleanNewAddress(s string) (addr, domain string, err error) {
	return addressKey(address.ParseNew(s))
}

func addressKey(a address.Address, err error) (string, string, error) {
	if err != nil {
		return "", "", &Error{Kind: ErrInvalid, Msg: err.Error()}
	}
	return a.Key(), a.Domain, nil
}

// cleanName returns a display name trimmed and in NFC form (so that names typed on different keyboards compare
// and align the same), or an ErrInvalid error.
func cleanName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", failf(ErrInvalid, "invalid name: it is not valid UTF-8")
	}
	n := norm.NFC.String(strings.TrimSpace(name))
	if utf8.RuneCountInString(n) > maxNameRunes {
		return "", failf(ErrInvalid, "name must be at most %d characters", maxNameRunes)
	}
	if strings.ContainsFunc(n, unicode.IsControl) {
		return "", failf(ErrInvalid, "name must not contain control characters")
	}
	return n, nil
}

// cleanUnit returns an org unit path such as "vinhyen/ubnd/phong-noi-vu" lower-cased, or an ErrInvalid error.
// An empty unit means none. The rule is the store's (store.ValidateUnitPath): levels of a-z, 0-9 and '-', so that
// paths are easy to type on any keyboard and never need quoting.
func cleanUnit(unit string) (string, error) {
	u := strings.ToLower(strings.TrimSpace(unit))
	if u == "" {
		return "", nil
	}
	if len(u) > maxUnitBytes {
		return "", failf(ErrInvalid, "unit path must be at most %d characters", maxUnitBytes)
	}
	for seg := range strings.SplitSeq(u, "/") {
		if seg == "" {
			return "", failf(ErrInvalid, "invalid unit %q: write it like vinhyen/ubnd/phong-noi-vu, without empty parts or a leading or trailing '/'", unit)
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", failf(ErrInvalid, "invalid unit %q: use letters without diacritics, digits and '-' between the '/'", unit)
			}
		}
		if seg[0] == '-' || seg[len(seg)-1] == '-' {
			return "", failf(ErrInvalid, "invalid unit %q: a part must not start or end with '-'", unit)
		}
	}
	return u, nil
}

// cleanUnitPath is cleanUnit for a unit that must be named.
func cleanUnitPath(unit string) (string, error) {
	u, err := cleanUnit(unit)
	if err == nil && u == "" {
		err = failf(ErrInvalid, "unit path must not be empty: write it like vinhyen/ubnd/phong-noi-vu")
	}
	return u, err
}

// cleanActor returns the OS user name given by the CLI, safe for one column of the audit log, or "".
func cleanActor(user string) string {
	u := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, user)
	if len(u) > maxActorBytes {
		u = u[:maxActorBytes]
	}
	if !utf8.ValidString(u) {
		u = strings.ToValidUTF8(u, "")
	}
	return u
}

// checkPassword applies the strength rules and limits that make a password usable over SMTP and IMAP.
func checkPassword(pw string) error {
	if len(pw) > maxPasswordBytes {
		return failf(ErrInvalid, "password must be at most %d bytes", maxPasswordBytes)
	}
	if !utf8.ValidString(pw) {
		return failf(ErrInvalid, "password is not valid UTF-8")
	}
	if strings.ContainsFunc(pw, unicode.IsControl) {
		return failf(ErrInvalid, "password must not contain control characters such as tabs or line breaks")
	}
	if err := auth.CheckPasswordStrength(pw); err != nil {
		return &Error{Kind: ErrInvalid, Msg: err.Error()}
	}
	return nil
}
