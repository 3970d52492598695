package provision

import "strings"

// These checks mirror admin.AddUser's (internal/admin/validate.go), so that Plan reports a bad address with its
// line and column instead of Apply failing half-way.

// maxDomain and maxLabel are the limits of RFC 1035 section 2.3.4.
const (
	maxDomain = 253
	maxLabel  = 63
)

// localPartProblem explains why local (lower-case) is not a usable local part, or returns "": only the unquoted
// dot-atom subset that every client handles, letters, digits and . _ - +.
func localPartProblem(local string) string {
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

// domainProblem explains why d (lower-case) is not a usable mail domain, or returns "".
func domainProblem(d string) string {
	switch {
	case d == "":
		return "it is empty"
	case len(d) > maxDomain:
		return "longer than 253 characters"
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
				return "use only letters without diacritics, digits, '-' and '.'"
			}
		}
	}
	return ""
}
