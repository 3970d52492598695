package auth

import "mailserver/internal/address"

// AddressOwned reports whether addr, as the protocol gave it (MAIL FROM, or an address of the From or Sender
// field: its local part already out of its quotes), names the same mailbox as one of owned, the stored addresses
// the account may use. Addresses compare as package address says: case, Unicode normalisation, the Unicode or xn--
// form of the domain and surrounding space make no difference. The null sender is nobody's.
func AddressOwned(addr string, owned []string) bool {
	a, err := address.ParseUnquoted(addr)
	if err != nil {
		return false
	}
	key := a.Key()
	for _, o := range owned {
		if address.Fold(o) == key {
			return true
		}
	}
	return false
}

// loginKey is the stored address a login name stands for: An@Huế.vn logs in as an@xn--hu-07s.vn. A name that is not
// an address is only trimmed and lower-cased; it names no account, and is throttled as given.
func loginKey(username string) string { return address.Fold(username) }
