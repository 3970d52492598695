package message

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

// addrParser is net/mail's parser (what go-message's mail package wraps) with
// the lenient RFC 2047 decoder.
var addrParser = &mail.AddressParser{WordDecoder: wordDecoder}

// buildEnvelope extracts the RFC 3501 ENVELOPE from a header. Sender and
// Reply-To default to From when absent or empty.
func buildEnvelope(fs []field, fallback string) *imap.Envelope {
	env := &imap.Envelope{}
	if v, ok := get(fs, "Date"); ok {
		env.Date = parseDate(v)
	}
	if v, ok := get(fs, "Subject"); ok {
		env.Subject = decodeHeader(v, fallback)
	}
	list := func(name string) []imap.Address {
		v, _ := get(fs, name)
		return parseAddressList(v, fallback)
	}
	// From and Sender hold mailboxes only (RFC 5322 3.6.2); the others may hold groups, shown in RFC 3501's group
	// syntax (7.4.2): a start marker with the group's name, its members, an end marker.
	grouped := func(name string) []imap.Address {
		v, _ := get(fs, name)
		return parseGroupedAddressList(v, fallback)
	}
	env.From = list("From")
	env.Sender = list("Sender")
	env.ReplyTo = grouped("Reply-To")
	env.To = grouped("To")
	env.Cc = grouped("Cc")
	env.Bcc = grouped("Bcc")
	if len(env.Sender) == 0 {
		env.Sender = env.From
	}
	if len(env.ReplyTo) == 0 {
		env.ReplyTo = env.From
	}
	if v, ok := get(fs, "In-Reply-To"); ok {
		env.InReplyTo = msgIDs(v, 0)
	}
	if v, ok := get(fs, "Message-Id"); ok {
		if ids := msgIDs(v, 1); len(ids) > 0 {
			env.MessageID = ids[0]
		} else if tok := strings.Fields(v); len(tok) == 1 {
			env.MessageID = tok[0] // an id without angle brackets
		}
	}
	return env
}

// parseAddressList parses an address header. net/mail rejects the whole list
// for one bad address, so on failure each comma-separated piece is parsed on
// its own, and a piece that still fails is mined for "<local@host>".
func parseAddressList(v, fallback string) []imap.Address {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	v = decodeRaw8bit(v, fallback)
	if addrs, err := addrParser.ParseList(v); err == nil {
		return convertAddrs(addrs)
	}
	var out []imap.Address
	for _, piece := range splitAddressList(v) {
		if a, err := addrParser.Parse(piece); err == nil {
			out = append(out, convertAddrs([]*mail.Address{a})...)
		} else if a, err := addrParser.Parse(withoutCFWS(piece)); err == nil {
			out = append(out, convertAddrs([]*mail.Address{a})...)
		} else if a, ok := routedAddress(piece); ok {
			out = append(out, a)
		} else if a, ok := scavengeAddress(piece); ok {
			out = append(out, a)
		}
	}
	return out
}

// parseGroupedAddressList is parseAddressList for a field that may hold groups ("Undisclosed: a@b, c@d;",
// "undisclosed-recipients:;"): each group becomes a start marker holding its name (no host), its members, and an
// end marker (neither mailbox nor host), as the ENVELOPE shows groups (RFC 3501 7.4.2). A group without a name is
// listed as its members only, since its start marker could not be told from an end marker.
func parseGroupedAddressList(v, fallback string) []imap.Address {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	v = decodeRaw8bit(v, fallback)
	var out []imap.Address
	for _, seg := range splitGroups(v) {
		name := groupName(seg.name)
		if seg.group && name != "" {
			out = append(out, imap.Address{Mailbox: name})
		}
		out = append(out, parseAddressList(seg.text, "")...)
		if seg.group && name != "" {
			out = append(out, imap.Address{})
		}
	}
	return out
}

// addressSegment is a run of plain addresses, or one group with its name and member list.
type addressSegment struct {
	group bool
	name  string
	text  string
}

// splitGroups cuts an address list into plain runs and groups: a group is a phrase ending in ':' outside quotes,
// comments and angle brackets (where ':' ends a source route), up to the next ';' or the end of the value.
func splitGroups(v string) []addressSegment {
	var out []addressSegment
	plainStart, lastComma, memberStart := 0, 0, -1
	angle := 0
	outsideQuotes(v, func(i int) {
		switch c := v[i]; {
		case c == '<':
			angle++
		case c == '>' && angle > 0:
			angle--
		case angle > 0:
		case c == ',' && memberStart < 0:
			lastComma = i + 1
		case c == ':' && memberStart < 0:
			out = append(out, addressSegment{text: v[plainStart:lastComma]})
			out = append(out, addressSegment{group: true, name: v[lastComma:i]})
			memberStart = i + 1
		case c == ';' && memberStart >= 0:
			out[len(out)-1].text = v[memberStart:i]
			memberStart, plainStart, lastComma = -1, i+1, i+1
		}
	})
	if memberStart >= 0 {
		out[len(out)-1].text = v[memberStart:] // a group missing its ';'
	} else {
		out = append(out, addressSegment{text: v[plainStart:]})
	}
	return out
}

// groupName is a group's display name as written before its ':', unquoted and decoded.
func groupName(phrase string) string {
	phrase = strings.TrimSpace(withoutCFWS(phrase))
	if len(phrase) >= 2 && phrase[0] == '"' && phrase[len(phrase)-1] == '"' {
		phrase = strings.ReplaceAll(phrase[1:len(phrase)-1], `\"`, `"`)
	}
	return stripControls(decodeHeader(phrase, ""))
}

// obsRoute finds an obsolete source route at the start of an angle address: "<@relay1,@relay2:" (RFC 5322 4.4).
var obsRoute = regexp.MustCompile(`<[ \t]*(@[^<>:"]*):`)

// routedAddress reads an address with a source route, which net/mail rejects, keeping the route as the ENVELOPE's
// at-domain-list (RFC 3501 7.4.2).
func routedAddress(piece string) (imap.Address, bool) {
	m := obsRoute.FindStringSubmatchIndex(piece)
	if m == nil {
		return imap.Address{}, false
	}
	route := strings.Join(strings.Fields(piece[m[2]:m[3]]), "")
	a, err := addrParser.Parse(piece[:m[0]] + "<" + piece[m[1]:])
	if err != nil {
		return imap.Address{}, false
	}
	addrs := convertAddrs([]*mail.Address{a})
	if len(addrs) != 1 {
		return imap.Address{}, false
	}
	addrs[0].ADL = stripControls(route)
	return addrs[0], true
}

// withoutCFWS drops the comments of an address net/mail rejected, and the blanks around its '@', which RFC 5322
// allows inside an addr-spec ("<user (comment)@ (comment) domain>", "user(comment)@domain") and net/mail does not.
// Quoted strings are kept as they are.
func withoutCFWS(v string) string {
	var b strings.Builder
	depth, inQuote := 0, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && (inQuote || depth > 0):
			if depth == 0 && i+1 < len(v) {
				b.WriteString(v[i : i+2])
			}
			i++
			continue
		case c == '"' && depth == 0:
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
			continue
		case c == ')' && depth > 0:
			depth--
			continue
		case depth > 0:
			continue
		}
		b.WriteByte(c)
	}
	return blanksAroundAt.ReplaceAllString(b.String(), "@")
}

// blanksAroundAt matches an '@' with the folding white space around it.
var blanksAroundAt = regexp.MustCompile(`[ \t\r\n]*@[ \t\r\n]*`)

// AddressDomains returns the host of every address the ENVELOPE would show for an address field with this value,
// in order: it reads the value as parseAddressList does, taking what net/mail cannot parse from the
// comma-separated pieces and from a "<local@host>" inside them, and reading raw 8-bit bytes as unlabelled text
// (UTF-8, or windows-1258 Vietnamese: only names change, never the addresses). DMARC checks these domains: a From it could not read would otherwise go unchecked
// while the reader is still shown its author (RFC 7489 6.6.1).
func AddressDomains(fieldValue string) []string {
	addrs := parseAddressList(fieldValue, "")
	hosts := make([]string, len(addrs))
	for i, a := range addrs {
		hosts[i] = a.Host
	}
	return hosts
}

// FieldValues returns the values of the top-level header fields of raw named name (case-insensitive), unfolded
// but not decoded, from the whole header whatever its size.
func FieldValues(raw []byte, name string) []string {
	var out []string
	for _, f := range parseFields(raw[:headerEnd(raw)], 0) {
		if strings.EqualFold(f.name, name) {
			out = append(out, f.value)
		}
	}
	return out
}

// StrictAddresses reads an address field (its raw value, as FieldValues gives it) for a check that must see every
// address any reader could be shown, such as the sender's right to a submission's From: the addresses, and ok
// false when some non-empty part of the list is not an address net/mail can parse. The ENVELOPE and other mail
// readers are lenient with such parts, and would show an address this check never saw.
func StrictAddresses(fieldValue string) (addrs []string, ok bool) {
	v := strings.TrimSpace(fieldValue)
	if !utf8.ValidString(v) {
		return nil, false // raw 8-bit in a charset each reader guesses differently
	}
	list, err := addrParser.ParseList(v)
	if err != nil {
		for _, piece := range splitAddressList(v) {
			if strings.TrimSpace(piece) == "" {
				continue
			}
			a, err := addrParser.Parse(piece)
			if err != nil {
				return nil, false
			}
			list = append(list, a)
		}
	}
	for _, a := range list {
		at := strings.LastIndexByte(a.Address, '@')
		if at <= 0 || at == len(a.Address)-1 {
			return nil, false
		}
		addrs = append(addrs, a.Address)
	}
	return addrs, true
}

// decodeRaw8bit converts a raw non-UTF-8 header value (old mailers) so the
// address parser sees valid UTF-8.
func decodeRaw8bit(v, fallback string) string {
	if utf8.ValidString(v) {
		return v
	}
	return toUTF8([]byte(v), fallback)
}

func convertAddrs(addrs []*mail.Address) []imap.Address {
	out := make([]imap.Address, 0, len(addrs))
	for _, a := range addrs {
		at := strings.LastIndexByte(a.Address, '@')
		if at <= 0 || at == len(a.Address)-1 {
			continue // no host: IMAP cannot express it outside group syntax
		}
		out = append(out, imap.Address{
			Name:    decodeHeader(a.Name, ""), // net/mail leaves encoded words inside quotes, as many mailers send names
			Mailbox: a.Address[:at],
			Host:    a.Address[at+1:],
		})
	}
	return out
}

// splitAddressList splits at commas and semicolons outside quotes and
// comments. Commas inside <> (obsolete source routes) are not honoured: an
// unclosed '<' is far more common in broken mail.
func splitAddressList(v string) []string {
	var out []string
	start := 0
	outsideQuotes(v, func(i int) {
		if v[i] == ',' || v[i] == ';' {
			out = append(out, v[start:i])
			start = i + 1
		}
	})
	return append(out, v[start:])
}

// outsideQuotes calls f with the index of every byte of v outside quoted
// strings and comments, the quotes and parentheses that delimit them left out.
func outsideQuotes(v string, f func(i int)) {
	depth, inQuote := 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && (inQuote || depth > 0):
			i++
		case c == '"' && depth == 0:
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		default:
			f(i)
		}
	}
}

// scavengeAddress pulls "Name <local@host>" or a bare "local@host" out of a
// piece net/mail rejected.
func scavengeAddress(piece string) (imap.Address, bool) {
	var name, addr string
	if lt := strings.LastIndexByte(piece, '<'); lt >= 0 {
		gt := strings.IndexByte(piece[lt:], '>')
		if gt < 0 {
			gt = len(piece) - lt
		}
		addr = piece[lt+1 : lt+gt]
		name = strings.Trim(strings.TrimSpace(piece[:lt]), `"`)
		if i := strings.LastIndexByte(name, ':'); i >= 0 {
			name = strings.TrimSpace(name[i+1:]) // group "Name: member"
		}
	} else {
		for _, tok := range strings.Fields(piece) {
			if strings.Contains(tok, "@") {
				addr = tok
			}
		}
	}
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		addr = addr[i+1:] // after a group's name, or an obsolete source route "<@route:local@host>"
	}
	addr = strings.Trim(addr, " \t\"'()[],;:")
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || strings.ContainsAny(addr, " \t<>") {
		return imap.Address{}, false
	}
	return imap.Address{
		Name:    decodeHeader(name, ""),
		Mailbox: stripControls(addr[:at]),
		Host:    stripControls(addr[at+1:]),
	}, true
}

// msgIDs returns the contents of up to limit (0: all) "<...>" tokens, blanks
// removed. go-message's msg-id parser is quadratic on long comments and
// strict; this is linear and takes what is there.
func msgIDs(v string, limit int) []string {
	var out []string
	for {
		lt := strings.IndexByte(v, '<')
		if lt < 0 {
			return out
		}
		gt := strings.IndexByte(v[lt:], '>')
		if gt < 0 {
			return out
		}
		id := strings.Join(strings.Fields(v[lt+1:lt+gt]), "")
		v = v[lt+gt+1:]
		if id != "" {
			out = append(out, stripControls(cleanText(id)))
			if limit > 0 && len(out) >= limit {
				return out
			}
		}
	}
}

// dateLayouts are tried when net/mail's RFC 5322 parser gives up.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04:05",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"2006-01-02 15:04:05 -0700",
	time.RFC3339,
}

// parseDate parses a Date header; the zero time when nothing fits.
func parseDate(v string) time.Time {
	v = strings.TrimSpace(v)
	if len(v) == len(time.RFC1123Z) && v[3] == ',' {
		// The form mailers write (RFC 5322 3.3, without comment or obsolete parts) first: net/mail tries its
		// layouts without a day of the week before this one, and each miss allocates an error. Any layout of
		// net/mail that accepts such a date reads the same fields from it.
		if t, err := time.Parse(time.RFC1123Z, v); err == nil {
			return t
		}
	}
	return parseAnyDate(v)
}

// parseAnyDate is parseDate for any form: net/mail's RFC 5322 parser, then dateLayouts.
func parseAnyDate(v string) time.Time {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 200 {
		return time.Time{}
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t
	}
	if i := strings.IndexByte(v, '('); i > 0 {
		v = strings.TrimSpace(v[:i])
	}
	v = strings.Join(strings.Fields(v), " ")
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t
		}
	}
	return time.Time{}
}
