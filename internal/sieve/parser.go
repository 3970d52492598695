package sieve

type argKind int

const (
	argTag argKind = iota
	argNumber
	argStrings // a string or a string list
)

type argument struct {
	pos    Pos
	kind   argKind
	tag    string
	num    int64
	strs   []string
	single bool // written as one string, not as a list
}

// node is a command or a test as written: its name, arguments, tests and, for commands, its block.
type node struct {
	name     string
	pos      Pos
	args     []argument
	tests    []*node
	testList bool // tests were written in parentheses
	block    []*node
	hasBlock bool
}

// parser builds the syntax tree (RFC 5228 section 8.2), bounding its depth and size so that no script can exhaust
// the stack or the memory.
type parser struct {
	lex    lexer
	tok    token
	limits Limits
	nodes  int
}

func parse(src string, limits Limits) ([]*node, error) {
	p := &parser{lex: lexer{src: src, line: 1, col: 1}, limits: limits}
	if err := p.advance(); err != nil {
		return nil, err
	}
	cmds, err := p.commands(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, errAt(p.tok.pos, "unexpected %s", p.tok.describe())
	}
	return cmds, nil
}

func (p *parser) advance() *Error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) isPunct(s string) bool { return p.tok.kind == tokPunct && p.tok.text == s }

func (p *parser) count(at Pos) *Error {
	p.nodes++
	if p.nodes > p.limits.MaxCommands {
		return errAt(at, "script has more than %d commands", p.limits.MaxCommands)
	}
	return nil
}

func (p *parser) deeper(depth int, at Pos) *Error {
	if depth >= p.limits.MaxNesting {
		return errAt(at, "blocks and tests nested deeper than %d", p.limits.MaxNesting)
	}
	return nil
}

// commands reads commands up to "}" or the end.
func (p *parser) commands(depth int) ([]*node, *Error) {
	var cmds []*node
	for p.tok.kind == tokIdent {
		cmd, err := p.command(depth)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, cmd)
	}
	if p.tok.kind != tokEOF && !p.isPunct("}") {
		return nil, errAt(p.tok.pos, "expected a command, found %s", p.tok.describe())
	}
	return cmds, nil
}

func (p *parser) command(depth int) (*node, *Error) {
	cmd := &node{name: p.tok.text, pos: p.tok.pos}
	if cmd.name != "require" { // a declaration: a 10,000-rule script with its require fits the default
		if err := p.count(cmd.pos); err != nil {
			return nil, err
		}
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.arguments(cmd, depth); err != nil {
		return nil, err
	}
	switch {
	case p.isPunct(";"):
		return cmd, p.advance()
	case p.isPunct("{"):
		if err := p.deeper(depth+1, p.tok.pos); err != nil {
			return nil, err
		}
		open := p.tok.pos
		if err := p.advance(); err != nil {
			return nil, err
		}
		block, err := p.commands(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.isPunct("}") {
			return nil, errAt(open, "block opened here is not closed by \"}\"")
		}
		cmd.block, cmd.hasBlock = block, true
		return cmd, p.advance()
	}
	return nil, errAt(p.tok.pos, "expected \";\" or a block after command %q, found %s", cmd.name, p.tok.describe())
}

// arguments reads the arguments of a command or test, then its test or test list.
func (p *parser) arguments(n *node, depth int) *Error {
	for {
		arg := argument{pos: p.tok.pos}
		switch {
		case p.tok.kind == tokTag:
			arg.kind, arg.tag = argTag, p.tok.text
		case p.tok.kind == tokNumber:
			arg.kind, arg.num = argNumber, p.tok.num
		case p.tok.kind == tokString:
			arg.kind, arg.strs, arg.single = argStrings, []string{p.tok.text}, true
		case p.isPunct("["):
			strs, err := p.stringList()
			if err != nil {
				return err
			}
			arg.kind, arg.strs = argStrings, strs
			n.args = append(n.args, arg)
			continue
		default:
			return p.testsOf(n, depth)
		}
		n.args = append(n.args, arg)
		if err := p.advance(); err != nil {
			return err
		}
	}
}

func (p *parser) stringList() ([]string, *Error) {
	open := p.tok.pos
	var strs []string
	for {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokString {
			return nil, errAt(p.tok.pos, "expected a string in the list opened at line %d, column %d, found %s",
				open.Line, open.Column, p.tok.describe())
		}
		strs = append(strs, p.tok.text)
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.isPunct("]") {
			return strs, p.advance()
		}
		if !p.isPunct(",") {
			return nil, errAt(p.tok.pos, "expected \",\" or \"]\" in a string list, found %s", p.tok.describe())
		}
	}
}

// testsOf reads the test or parenthesised test list that may end the arguments.
func (p *parser) testsOf(n *node, depth int) *Error {
	switch {
	case p.tok.kind == tokIdent:
		t, err := p.test(depth + 1)
		if err != nil {
			return err
		}
		n.tests = []*node{t}
	case p.isPunct("("):
		if err := p.deeper(depth+1, p.tok.pos); err != nil {
			return err
		}
		n.testList = true
		for {
			if err := p.advance(); err != nil {
				return err
			}
			if p.tok.kind != tokIdent {
				return errAt(p.tok.pos, "expected a test, found %s", p.tok.describe())
			}
			t, err := p.test(depth + 1)
			if err != nil {
				return err
			}
			n.tests = append(n.tests, t)
			if p.isPunct(")") {
				return p.advance()
			}
			if !p.isPunct(",") {
				return errAt(p.tok.pos, "expected \",\" or \")\" in a test list, found %s", p.tok.describe())
			}
		}
	}
	return nil
}

func (p *parser) test(depth int) (*node, *Error) {
	if err := p.deeper(depth, p.tok.pos); err != nil {
		return nil, err
	}
	t := &node{name: p.tok.text, pos: p.tok.pos}
	if err := p.advance(); err != nil {
		return nil, err
	}
	return t, p.arguments(t, depth)
}
