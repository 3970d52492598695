package carddav

import (
	"fmt"
	"strings"

	"github.com/emersion/go-vcard"
	gocarddav "github.com/emersion/go-webdav/carddav"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// matches evaluates an addressbook-query filter (RFC 6352 §10.5) against a card. It replaces go-webdav's
// carddav.Filter, which compares bytes ("nguyễn" would not find "Nguyễn"), looks only at the first property of a
// name, ignores param-filter and matches nothing when the filter is empty. Text is compared under
// i;unicode-casemap, the default collation of RFC 6352 §8.3, here Unicode case folding of NFC text; go-webdav does
// not pass on a requested collation.
func matches(q *gocarddav.AddressBookQuery, card vcard.Card) (bool, error) {
	if len(q.PropFilters) == 0 {
		return true, nil // RFC 6352 §10.5: an empty filter matches every card
	}
	return combine(q.FilterTest, len(q.PropFilters), func(i int) (bool, error) {
		return matchProp(&q.PropFilters[i], card)
	})
}

// combine applies an anyof (the default) or allof test to n conditions.
func combine(test gocarddav.FilterTest, n int, cond func(i int) (bool, error)) (bool, error) {
	var all bool
	switch test {
	case gocarddav.FilterAnyOf, "":
	case gocarddav.FilterAllOf:
		all = true
	default:
		return false, fmt.Errorf("unknown filter test %q", test)
	}
	for i := range n {
		ok, err := cond(i)
		if err != nil {
			return false, err
		}
		if ok != all {
			return ok, nil // anyof: the first match decides; allof: the first miss
		}
	}
	return all, nil
}

// matchProp reports whether any property of the filter's name passes its text-match and param-filter tests
// (RFC 6352 §10.5.1).
func matchProp(pf *gocarddav.PropFilter, card vcard.Card) (bool, error) {
	fields := card[strings.ToUpper(pf.Name)]
	if pf.IsNotDefined || len(fields) == 0 {
		return pf.IsNotDefined == (len(fields) == 0), nil
	}
	texts, params := len(pf.TextMatches), len(pf.Params)
	for _, f := range fields {
		ok, err := combine(pf.Test, texts+params, func(i int) (bool, error) {
			if i < texts {
				return matchText(&pf.TextMatches[i], f.Value)
			}
			return matchParam(&pf.Params[i-texts], f), nil
		})
		if err != nil || ok {
			return ok, err
		}
	}
	return texts+params == 0, nil
}

// matchParam is a param-filter (RFC 6352 §10.5.2).
func matchParam(pf *gocarddav.ParamFilter, f *vcard.Field) bool {
	values := f.Params[strings.ToUpper(pf.Name)]
	switch {
	case pf.IsNotDefined:
		return len(values) == 0
	case pf.TextMatch == nil:
		return len(values) > 0
	}
	for _, v := range values {
		if ok, err := matchText(pf.TextMatch, v); err == nil && ok {
			return true
		}
	}
	return false
}

// matchText is a text-match (RFC 6352 §10.5.4) under i;unicode-casemap.
func matchText(tm *gocarddav.TextMatch, value string) (bool, error) {
	v, t := fold(value), fold(tm.Text)
	var ok bool
	switch tm.MatchType {
	case gocarddav.MatchContains, "":
		ok = strings.Contains(v, t)
	case gocarddav.MatchEquals:
		ok = v == t
	case gocarddav.MatchStartsWith:
		ok = strings.HasPrefix(v, t)
	case gocarddav.MatchEndsWith:
		ok = strings.HasSuffix(v, t)
	default:
		return false, fmt.Errorf("unknown match type %q", tm.MatchType)
	}
	return ok != tm.NegateCondition, nil
}

func fold(s string) string { return norm.NFC.String(cases.Fold().String(s)) }
