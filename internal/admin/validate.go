package admin

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"mailserver/internal/auth"
)

// Limits on directory fields. Addresses follow RFC 5321 section 4.5.3.1.
const (
	maxLocalPart     = 64
	maxDomain        = 253
	maxLabel         = 63
	maxNameRunes     = 128
	maxUnitBytes     = 255
	maxPasswordBytes = 1024
	maxActorBytes    = 64
)

// cleanDomain returns name lower-cased and trimmed, or an ErrInvalid error saying what is wrong with it.
func cleanDomain(name string) (string, error) {
	d := strings.ToLower(strings.TrimSpace(name))
	d = strings.TrimSuffix(d, ".") // a fully qualified "example.gov.vn." means the same domain
	if reason := DomainProblem(d); reason != "" {
		return "", failf(ErrInvalid, "invalid domain name %q: %s", name, reason)
	}
	return d, nil
}

// DomainProblem explains why d (lower-case) is not a usable mail domain, or returns "". CSV import checks
// addresses with it too, so that a bad one is reported with its line before anything is created.
func DomainProblem(d string) string {
	switch {
	case d == "":
		return "it is empty; use a name like vinhyen.gov.vn"
	case len(d) > maxDomain:
		return "longer than 253 characters"
	}
	for _, r := range d {
		if r >= utf8.RuneSelf {
			return "write a non-ASCII name in its ASCII (xn--) form"
		}
	}
	for label := range strings.SplitSeq(d, ".") {
		switch {
		case label == "":
			return "it has an empty label (two dots in a row, or a dot at the start)"
		case len(label) > maxLabel:
			return "a label is longer than 63 characters"
		case label[0] == '-' || label[len(label)-1] == '-':
			return "a label starts or ends with '-'"
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "use only letters, digits, '-' and '.'"
			}
		}
	}
	return ""
}

// cleanAddress returns address lower-cased and trimmed as local@domain, or an ErrInvalid error.
func cleanAddress(address string) (addr, domain string, err error) {
	a := strings.ToLower(strings.TrimSpace(address))
	at := strings.LastIndexByte(a, '@')
	if at < 0 {
		return "", "", failf(ErrInvalid, "invalid address %q: it must look like an.nv@vinhyen.gov.vn", address)
	}
	local, domain := a[:at], a[at+1:]
	if reason := LocalPartProblem(local); reason != "" {
		return "", "", failf(ErrInvalid, "invalid address %q: %s", address, reason)
	}
	if domain == "" {
		return "", "", failf(ErrInvalid, "invalid address %q: the part after '@' is empty", address)
	}
	if reason := DomainProblem(domain); reason != "" {
		return "", "", failf(ErrInvalid, "invalid address %q: bad domain: %s", address, reason)
	}
	return a, domain, nil
}

// LocalPartProblem explains why local is not a usable local part, or returns "". Only the unquoted dot-atom
// subset that every client and server handles is accepted: letters, digits and . _ - +.
func LocalPartProblem(local string) string {
	switch {
	case local == "":
		return "the part before '@' is empty"
	case len(local) > maxLocalPart:
		return "the part before '@' is longer than 64 characters"
	case local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, ".."):
		return "dots must separate words: not at the start or end, and never two in a row"
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("._-+", c) >= 0) {
			return "before '@' use only letters without diacritics, digits and . _ - +"
		}
	}
	return ""
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
