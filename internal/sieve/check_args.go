package sieve

import (
	"strings"
)

// checkCommandArgs checks what the grammar cannot: values that must be known words or valid addresses.
func (c *checker) checkCommandArgs(cm *cmd) *Error {
	switch cm.name {
	case "redirect":
		return c.vetRedirect(cm.args[0])
	case "set":
		if !validVariableName(cm.args[0].strs[0]) {
			return errAt(cm.args[0].pos, "%q is not a variable name", cm.args[0].strs[0])
		}
	case "setflag", "addflag", "removeflag":
		if len(cm.args) == 2 {
			if err := c.variableNames(cm.args[0]); err != nil {
				return err
			}
		}
	case "vacation":
		if d, ok := cm.tags["days"]; ok && d.num < 0 {
			return errAt(d.pos, ":days must not be negative")
		}
	case "fileinto":
		if cm.args[0].strs[0] == "" {
			return errAt(cm.args[0].pos, "fileinto needs a mailbox name")
		}
	}
	return nil
}

func (c *checker) variableNames(a argument) *Error {
	for _, name := range a.strs {
		if !validVariableName(name) {
			return errAt(a.pos, "%q is not a variable name", name)
		}
	}
	return nil
}

// checkTestArgs fixes the test's matcher and checks the values of its arguments.
func (c *checker) checkTestArgs(t *test) *Error {
	if _, ok := testSpecs[t.name].tags["is"]; ok {
		m, err := c.matcherOf(t)
		if err != nil {
			return err
		}
		t.match = m
	}
	if err := checkIndexArgs(t); err != nil {
		return err
	}
	switch t.name {
	case "date", "currentdate":
		return c.checkDateArgs(t)
	case "size":
		if len(t.tags) != 1 {
			return errAt(t.at, "\"size\" needs :over or :under and a number")
		}
	case "envelope":
		for _, part := range t.args[0].strs {
			if p := strings.ToLower(part); p != "from" && p != "to" {
				return errAt(t.args[0].pos, "envelope part %q is not supported (only \"from\" and \"to\")", part)
			}
		}
	case "hasflag":
		if len(t.args) == 2 {
			return c.variableNames(t.args[0])
		}
	}
	return nil
}

func (c *checker) matcherOf(t *test) (matcher, *Error) {
	m := matcher{cmp: cmpCasemap}
	if a, ok := t.tags["comparator"]; ok {
		name := strings.ToLower(a.strs[0])
		cmp, known := comparatorNames[name]
		if !known {
			return m, errAt(a.pos, "unknown comparator %q", a.strs[0])
		}
		if cmp != cmpCasemap && cmp != cmpOctet && !c.required["comparator-"+name] {
			return m, errAt(a.pos, "require \"comparator-%s\" missing", name)
		}
		m.cmp = cmp
	}
	for tag, kind := range map[string]matchKind{"contains": matchContains, "matches": matchMatches, "count": matchCount, "value": matchValue} {
		a, ok := t.tags[tag]
		if !ok {
			continue
		}
		m.kind = kind
		if kind == matchCount || kind == matchValue {
			if !validRelational(a.strs[0]) {
				return m, errAt(a.pos, "relational operator %q is not one of gt ge lt le eq ne", a.strs[0])
			}
			m.rel = strings.ToLower(a.strs[0])
		}
	}
	if m.cmp == cmpNumeric && (m.kind == matchContains || m.kind == matchMatches) {
		return m, errAt(t.at, "comparator \"i;ascii-numeric\" cannot be used with :contains or :matches")
	}
	return m, nil
}

// validVariableName accepts identifiers, namespaced or not (RFC 5229 section 3).
func validVariableName(name string) bool {
	if name == "" {
		return false
	}
	for _, part := range strings.Split(name, ".") {
		if part == "" || !isIdentStart(part[0]) {
			return false
		}
		for i := 1; i < len(part); i++ {
			if c := part[i]; !isIdentStart(c) && (c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}
