package sieve

import (
	"slices"
	"strings"
)

// cmd is a checked command; an "if" holds its elsif and else branches.
type cmd struct {
	name     string
	at       Pos
	tags     map[string]argument // a flag tag maps to its own argument
	args     []argument          // positional arguments
	branches []branch            // if: the if, then each elsif and else (cond nil)
	block    []*cmd
}

type branch struct {
	cond  *test
	block []*cmd
}

// test is a checked test.
type test struct {
	name  string
	at    Pos
	tags  map[string]argument
	args  []argument
	tests []*test
	match matcher
}

type checker struct {
	opts     Options
	required map[string]bool
}

// checkScript turns the syntax tree into commands, refusing what RFC 5228 and the extensions refuse.
func (c *checker) checkScript(nodes []*node) ([]*cmd, *Error) {
	c.required = map[string]bool{}
	i := 0
	for ; i < len(nodes) && nodes[i].name == "require"; i++ {
		if err := c.require(nodes[i]); err != nil {
			return nil, err
		}
	}
	return c.checkBlock(nodes[i:])
}

func (c *checker) require(n *node) *Error {
	if _, err := c.shape(n, commandSpecs["require"]); err != nil {
		return err
	}
	for _, name := range n.args[0].strs {
		if !capabilities[strings.ToLower(name)] {
			return errAt(n.args[0].pos, "unsupported extension %q in require", name)
		}
		c.required[strings.ToLower(name)] = true
	}
	return nil
}

func (c *checker) checkBlock(nodes []*node) ([]*cmd, *Error) {
	var out []*cmd
	for _, n := range nodes {
		switch n.name {
		case "require":
			return nil, errAt(n.pos, "\"require\" must come before every other command (RFC 5228 section 3.2)")
		case "elsif", "else":
			last := len(out) - 1
			if last < 0 || out[last].name != "if" || out[last].branches[len(out[last].branches)-1].cond == nil {
				return nil, errAt(n.pos, "%q without \"if\" before it", n.name)
			}
			b, err := c.checkBranch(n)
			if err != nil {
				return nil, err
			}
			out[last].branches = append(out[last].branches, b)
			continue
		}
		cm, err := c.checkCommand(n)
		if err != nil {
			return nil, err
		}
		out = append(out, cm)
	}
	return out, nil
}

func (c *checker) checkBranch(n *node) (branch, *Error) {
	if _, err := c.shape(n, commandSpecs[n.name]); err != nil {
		return branch{}, err
	}
	var b branch
	var err *Error
	if len(n.tests) > 0 {
		if b.cond, err = c.checkTest(n.tests[0]); err != nil {
			return branch{}, err
		}
	}
	if b.block, err = c.checkBlock(n.block); err != nil {
		return branch{}, err
	}
	return b, nil
}

func (c *checker) checkCommand(n *node) (*cmd, *Error) {
	sp, ok := commandSpecs[n.name]
	if !ok {
		if _, isTest := testSpecs[n.name]; isTest {
			return nil, errAt(n.pos, "%q is a test, not a command: use it in \"if\"", n.name)
		}
		return nil, errAt(n.pos, "unknown command %q", n.name)
	}
	if n.name == "if" {
		b, err := c.checkBranch(n)
		if err != nil {
			return nil, err
		}
		return &cmd{name: "if", at: n.pos, branches: []branch{b}}, nil
	}
	if err := c.needs(sp.ext, n); err != nil {
		return nil, err
	}
	cm, err := c.shape(n, sp)
	if err != nil {
		return nil, err
	}
	if err := c.checkCommandArgs(cm); err != nil {
		return nil, err
	}
	return cm, nil
}

func (c *checker) needs(ext string, n *node) *Error {
	if ext != "" && !c.required[ext] {
		return errAt(n.pos, "require %q missing (%q needs it)", ext, n.name)
	}
	return nil
}

func (c *checker) checkTest(n *node) (*test, *Error) {
	sp, ok := testSpecs[n.name]
	if !ok {
		if _, isCmd := commandSpecs[n.name]; isCmd {
			return nil, errAt(n.pos, "%q is a command, not a test", n.name)
		}
		return nil, errAt(n.pos, "unknown test %q", n.name)
	}
	if err := c.needs(sp.ext, n); err != nil {
		return nil, err
	}
	cm, err := c.shape(n, sp)
	if err != nil {
		return nil, err
	}
	t := &test{name: n.name, at: n.pos, tags: cm.tags, args: cm.args}
	for _, sub := range n.tests {
		st, err := c.checkTest(sub)
		if err != nil {
			return nil, err
		}
		t.tests = append(t.tests, st)
	}
	if err := c.checkTestArgs(t); err != nil {
		return nil, err
	}
	return t, nil
}

// shape checks a node's tags, positional arguments, tests and block against its spec.
func (c *checker) shape(n *node, sp spec) (*cmd, *Error) {
	cm := &cmd{name: n.name, at: n.pos, tags: map[string]argument{}}
	args := n.args
	for len(args) > 0 && args[0].kind == argTag {
		tag := args[0]
		ts, ok := sp.tags[tag.tag]
		if !ok {
			return nil, errAt(tag.pos, "%q does not take the tag \":%s\"", n.name, tag.tag)
		}
		if ts.ext != "" && !c.required[ts.ext] {
			return nil, errAt(tag.pos, "require %q missing (\":%s\" needs it)", ts.ext, tag.tag)
		}
		if _, dup := cm.tags[tag.tag]; dup {
			return nil, errAt(tag.pos, "tag \":%s\" given twice", tag.tag)
		}
		args = args[1:]
		val := tag
		if ts.kind != valFlag {
			if len(args) == 0 || !fits(args[0], ts.kind) {
				return nil, errAt(tag.pos, "tag \":%s\" must be followed by %s", tag.tag, kindName(ts.kind))
			}
			val, args = args[0], args[1:]
		}
		cm.tags[tag.tag] = val
	}
	for _, group := range sp.exclusive {
		var seen []string
		for _, name := range group {
			if _, ok := cm.tags[name]; ok {
				seen = append(seen, ":"+name)
			}
		}
		if len(seen) > 1 {
			return nil, errAt(n.pos, "%q takes only one of %s", n.name, strings.Join(seen, " "))
		}
	}
	if err := positional(n, sp, args); err != nil {
		return nil, err
	}
	cm.args = args
	return cm, arity(n, sp)
}

func positional(n *node, sp spec, args []argument) *Error {
	want := sp.positional
	if len(args) < len(want) && len(want)-len(args) <= sp.optional {
		want = want[len(want)-len(args):]
	}
	for i, a := range args {
		if a.kind == argTag {
			return errAt(a.pos, "tag \":%s\" must come before the other arguments of %q", a.tag, n.name)
		}
		if i >= len(want) {
			return errAt(a.pos, "too many arguments for %q", n.name)
		}
		if !fits(a, want[i]) {
			return errAt(a.pos, "argument %d of %q must be %s", i+1, n.name, kindName(want[i]))
		}
	}
	if len(args) < len(want) {
		return errAt(n.pos, "%q needs %d arguments, has %d", n.name, len(want), len(args))
	}
	return nil
}

func arity(n *node, sp spec) *Error {
	switch {
	case sp.tests == noTests && len(n.tests) > 0:
		return errAt(n.tests[0].pos, "%q takes no test", n.name)
	case sp.tests == oneTest && (len(n.tests) != 1 || n.testList):
		return errAt(n.pos, "%q needs one test", n.name)
	case sp.tests == testList && !n.testList:
		return errAt(n.pos, "%q needs a list of tests in parentheses", n.name)
	case sp.block && !n.hasBlock:
		return errAt(n.pos, "%q needs a block in braces", n.name)
	case !sp.block && n.hasBlock:
		return errAt(n.pos, "%q takes no block", n.name)
	}
	return nil
}

func fits(a argument, k valueKind) bool {
	switch k {
	case valString:
		return a.kind == argStrings && a.single
	case valList:
		return a.kind == argStrings
	case valNumber:
		return a.kind == argNumber
	}
	return false
}

func kindName(k valueKind) string {
	return [...]string{"nothing", "a string", "a string list", "a number"}[k]
}

// vetRedirect checks a redirect address known when the script is stored (not built from variables).
func (c *checker) vetRedirect(a argument) *Error {
	addr := a.strs[0]
	if c.required["variables"] && strings.Contains(addr, "${") {
		return nil
	}
	if err := checkRedirectAddress(addr, c.opts.Redirect); err != nil {
		return errAt(a.pos, "%s", err.Error())
	}
	return nil
}

var relationalOps = []string{"gt", "ge", "lt", "le", "eq", "ne"}

func validRelational(op string) bool { return slices.Contains(relationalOps, strings.ToLower(op)) }
