package delivery

import (
	"strings"

	"mailserver/internal/auth"
	"mailserver/internal/message"
)

// checkOriginator applies the submission rules to the values of one originator field (From, Sender, or their
// Resent- forms): at most one such field, every part of it an address (message.StrictAddresses, so that no address
// hides in a part a lenient reader would show), each address one the account may send as (owned), and no display
// name showing another address (checkDisplayNames). It returns the addresses.
func checkOriginator(field string, values, owned []string) ([]string, error) {
	if len(values) > 1 {
		return nil, fieldError(field, "%d %s headers: %w", len(values), field, ErrFromNotAllowed)
	}
	var addrs []string
	for _, v := range values {
		// Display names first: an address in one often makes the field unreadable too ("binh@x <an@x>"), and
		// the user is best told about the name.
		if err := checkDisplayNames(field, v); err != nil {
			return nil, err
		}
		list, ok := message.StrictAddresses(v)
		if !ok {
			return nil, fieldError(field, "%s header is not a readable list of addresses: %w", field, ErrFromNotAllowed)
		}
		for _, a := range list {
			if !auth.AddressOwned(a, owned) {
				return nil, fieldError(field, "%s: %w", a, ErrFromNotAllowed)
			}
		}
		addrs = append(addrs, list...)
	}
	return addrs, nil
}

// checkDisplayNames refuses a field in which the text shown beside an address (display name, comment, group name)
// shows another e-mail address (message.DisplayedAddresses): readers take that address for the sender, and a
// colleague's address over a stranger's mailbox is the phishing that matters most in government mail. A name that
// is the address itself ("an@x" <an@x>) is allowed.
func checkDisplayNames(field, value string) error {
	for _, m := range message.DisplayedAddresses(value) {
		for _, shown := range m.Shown {
			if !sameAddress(shown, m.Address) {
				return fieldError(field, "%q shown for %s: %w", shown, m.Address, ErrDisplayNameSpoof)
			}
		}
	}
	return nil
}

// sameAddress compares two addresses as sender rights are compared (auth.AddressOwned's folding). The display-name
// rule compares through it alone, so that a shared address package can take its place in one line.
func sameAddress(a, b string) bool { return auth.AddressOwned(a, []string{b}) }

// checkResent holds the newest resent block (message.NewestResentBlock) to the rules of From and Sender:
// Resent-From and Resent-Sender say who resent the message as From and Sender say who wrote it (RFC 5322 3.6.6),
// and a reader that shows them shows the newest block's. The block must name its Resent-From (RFC 5322 requires
// one in every block), or a reader looking for the first Resent-From would find an older block's. It returns the
// addresses.
//
// Older blocks are history: each was written by an earlier resender and delivered since (trace fields stand
// between it and the newest). This server cannot vouch for them, and refusing them would refuse the onward
// redirect of every message that was resent before, so they are left as they are, checked neither for ownership
// nor for display names. A client can write such history itself, but readers show the newest block, which is
// checked.
func checkResent(body []byte, owned []string) ([]string, error) {
	block := message.NewestResentBlock(body)
	if block == nil {
		return nil, nil
	}
	from, err := checkOriginator("Resent-From", blockValues(block, "Resent-From"), owned)
	if err != nil {
		return nil, err
	}
	if len(from) == 0 {
		return nil, fieldError("Resent-From", "resent block without a Resent-From address: %w", ErrFromNotAllowed)
	}
	sender, err := checkOriginator("Resent-Sender", blockValues(block, "Resent-Sender"), owned)
	if err != nil {
		return nil, err
	}
	return append(from, sender...), nil
}

// blockValues returns the values of the fields of block named name (case-insensitive).
func blockValues(block []message.HeaderField, name string) []string {
	var values []string
	for _, f := range block {
		if strings.EqualFold(f.Name, name) {
			values = append(values, f.Value)
		}
	}
	return values
}
