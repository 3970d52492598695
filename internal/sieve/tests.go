package sieve

import (
	"net/mail"
	"strings"
)

func (r *run) test(t *test) (bool, error) {
	if err := r.charge(1); err != nil {
		return false, err
	}
	switch t.name {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "not":
		ok, err := r.test(t.tests[0])
		return !ok, err
	case "allof", "anyof":
		want := t.name == "anyof" // the result that ends the list early
		for _, sub := range t.tests {
			ok, err := r.test(sub)
			if err != nil || ok == want {
				return want, err
			}
		}
		return !want, nil
	case "exists":
		for _, name := range r.expandAll(t.args[0].strs) {
			if len(r.msg.HeaderValues(name)) == 0 {
				return false, nil
			}
		}
		return true, nil
	case "size":
		if a, ok := t.tags["over"]; ok {
			return r.msg.Size() > a.num, nil
		}
		return r.msg.Size() < t.tags["under"].num, nil
	case "mailboxexists":
		if r.opts.MailboxExists == nil {
			return false, errAt(t.at, "mailboxexists cannot be answered here")
		}
		for _, name := range r.expandAll(t.args[0].strs) {
			if !r.opts.MailboxExists(name) {
				return false, nil
			}
		}
		return true, nil
	}
	if t.name == "date" || t.name == "currentdate" {
		values := r.dateValues(t)
		if len(values) == 0 {
			return false, nil // RFC 5260 section 4: no valid date-time, whatever the match type
		}
		return r.matchValues(t.match, values, r.expandAll(t.args[len(t.args)-1].strs))
	}
	values, err := r.testValues(t)
	if err != nil {
		return false, err
	}
	return r.matchValues(t.match, values, r.expandAll(t.args[len(t.args)-1].strs))
}

// testValues gathers the values a matching test compares with its keys.
func (r *run) testValues(t *test) ([]string, error) {
	switch t.name {
	case "header":
		var values []string
		for _, name := range r.expandAll(t.args[0].strs) {
			values = append(values, r.indexed(t, r.msg.HeaderValues(name))...)
		}
		return values, nil
	case "address":
		var values []string
		for _, name := range r.expandAll(t.args[0].strs) {
			for _, v := range r.indexed(t, r.msg.HeaderValues(name)) {
				for _, a := range splitAddresses(v) {
					values = append(values, addressPart(t, a))
				}
			}
		}
		return values, nil
	case "envelope":
		var values []string
		for _, part := range t.args[0].strs {
			a := r.env.From
			if strings.EqualFold(part, "to") {
				a = r.env.To
			}
			values = append(values, addressPart(t, strings.Trim(a, "<>")))
		}
		return values, nil
	case "string":
		var values []string
		for _, s := range r.expandAll(t.args[0].strs) {
			if s != "" || t.match.kind != matchCount { // RFC 5229 section 5: :count skips empty strings
				values = append(values, s)
			}
		}
		return values, nil
	case "hasflag":
		if len(t.args) == 1 {
			return r.res.Flags, nil
		}
		var flags []string
		for _, name := range t.args[0].strs {
			flags = append(flags, strings.Fields(r.vars[strings.ToLower(name)])...)
		}
		return normalizeFlags(flags), nil
	case "body":
		return r.bodyValues(t), nil
	}
	return nil, errAt(t.at, "test %q cannot be evaluated", t.name)
}

// bodyValues is the text the body test reads (RFC 5173 section 5): the raw body, or the message's text, which
// every :content type list naming text selects; other types match nothing here.
func (r *run) bodyValues(t *test) []string {
	if _, raw := t.tags["raw"]; raw {
		return []string{string(r.msg.RawBody())}
	}
	if a, ok := t.tags["content"]; ok {
		text := false
		for _, ct := range a.strs {
			ct = strings.ToLower(strings.TrimSpace(ct))
			text = text || ct == "" || ct == "text" || strings.HasPrefix(ct, "text/")
		}
		if !text {
			return nil
		}
	}
	return []string{r.msg.BodyText()}
}

// matchValues is true when a value matches a key; a successful :matches sets the match variables.
func (r *run) matchValues(m matcher, values, keys []string) (bool, error) {
	if m.kind == matchCount {
		return m.countMatches(len(values), keys), nil
	}
	var captures *[]string
	if m.kind == matchMatches && r.s.variables {
		captures = &[]string{}
	}
	for _, v := range values {
		for _, k := range keys {
			cost := 1 + len(v)/1024
			if m.kind == matchMatches {
				cost *= 1 + strings.Count(k, "*")
			}
			if err := r.charge(cost); err != nil {
				return false, err
			}
			if m.matchOne(v, k, captures) {
				if captures != nil {
					r.captures = *captures
				}
				return true, nil
			}
		}
	}
	return false, nil
}

func addressPart(t *test, addr string) string {
	at := strings.LastIndexByte(addr, '@')
	switch {
	case hasTag(t, "localpart"):
		if at < 0 {
			return addr
		}
		return addr[:at]
	case hasTag(t, "domain"):
		if at < 0 {
			return ""
		}
		return addr[at+1:]
	}
	return addr
}

func hasTag(t *test, tag string) bool { _, ok := t.tags[tag]; return ok }

// splitAddresses takes the addresses out of a decoded header value. Decoding may have left a display name that
// no longer parses (a comma or quote from an encoded word), so a failed parse falls back to what is between
// angle brackets, or to the comma-separated words holding an '@'.
func splitAddresses(value string) []string {
	if list, err := mail.ParseAddressList(value); err == nil {
		out := make([]string, len(list))
		for i, a := range list {
			out[i] = a.Address
		}
		return out
	}
	var out []string
	for rest := value; ; {
		open := strings.IndexByte(rest, '<')
		if open < 0 {
			break
		}
		end := strings.IndexByte(rest[open:], '>')
		if end < 0 {
			break
		}
		out = append(out, strings.TrimSpace(rest[open+1:open+end]))
		rest = rest[open+end+1:]
	}
	if len(out) > 0 {
		return out
	}
	for _, word := range strings.Split(value, ",") {
		if word = strings.TrimSpace(word); word != "" {
			out = append(out, word)
		}
	}
	return out
}
