package sieve

import (
	"errors"
	"strings"
	"testing"
)

// TestCompileErrors checks that bad scripts are refused with the place of the fault and words a user can act on.
func TestCompileErrors(t *testing.T) {
	cases := []compileErrorCase{
		{"keep;\nif hedaer :is \"a\" \"b\" { keep; }", 2, 4, `unknown test "hedaer"`},
		{"fileinto \"x\";", 1, 1, `require "fileinto" missing`},
		{"require \"fileinto\";\nfileinto :copy \"x\";", 2, 10, `require "copy" missing`},
		{"require \"frobnicate\";", 1, 9, `unsupported extension "frobnicate"`},
		{"keep;\nrequire \"fileinto\";", 2, 1, `"require" must come before`},
		{"kep;", 1, 1, `unknown command "kep"`},
		{"keep", 1, 5, `expected ";" or a block`},
		{"if true { keep; ", 1, 9, `not closed by "}"`},
		{"if true keep;", 1, 1, `"if" needs a block in braces`},
		{"elsif true { keep; }", 1, 1, `"elsif" without "if"`},
		{"if true { keep; } stop; else { keep; }", 1, 25, `"else" without "if"`},
		{"if header :is \"a\" { keep; }", 1, 4, `"header" needs 2 arguments`},
		{"if header :is :contains \"a\" \"b\" { keep; }", 1, 4, `only one of :is :contains`},
		{"if header :over \"a\" \"b\" { keep; }", 1, 11, `does not take the tag ":over"`},
		{"if header :comparator \"i;nope\" \"a\" \"b\" { keep; }", 1, 23, `unknown comparator "i;nope"`},
		{"if header :comparator \"vnd-mailserver-vi-fold\" \"a\" \"b\" { keep; }", 1, 23, `require "comparator-vnd-mailserver-vi-fold" missing`},
		{"require \"relational\";\nif header :count \"big\" \"a\" \"1\" { keep; }", 2, 18, `relational operator "big"`},
		{"if size 10 { keep; }", 1, 9, `too many arguments`},
		{"if size :over \"1\" { keep; }", 1, 9, `must be followed by a number`},
		{"redirect \"not an address\";", 1, 10, `invalid address`},
		{"if true { keep; } /* open", 1, 19, `comment "/*" is not closed`},
		{"keep;\n\"unterminated", 2, 1, `string is not closed`},
		{"if \"str\" { keep; }", 1, 4, `too many arguments for "if"`},
		{"if { keep; }", 1, 1, `"if" needs one test`},
		{"if true { keep; }\nif not (true) { keep; }", 2, 4, `"not" needs one test`},
		{"if anyof true { keep; }", 1, 4, `needs a list of tests`},
		{"if exists [\"a\" \"b\"] { keep; }", 1, 16, `expected "," or "]"`},
		{"discard { keep; }", 1, 1, `"discard" takes no block`},
		{"require \"envelope\";\nif envelope \"date\" \"x\" { keep; }", 2, 13, `envelope part "date"`},
		{"require [\"relational\", \"comparator-i;ascii-numeric\"];\nif header :contains :comparator \"i;ascii-numeric\" \"a\" \"1\" { keep; }", 2, 4, `cannot be used with :contains`},
		{"require \"variables\";\nset \"1x\" \"a\";", 2, 5, `"1x" is not a variable name`},
		{"if header \"a\" \"b\" :is { keep; }", 1, 19, `must come before the other arguments`},
		{"keep :flags \"a\";", 1, 6, `require "imap4flags" missing`},
		{"if true { keep; } text:\nfoo\n.\n", 1, 19, `expected a command, found a string`},
		{"vacation \"x\";", 1, 1, `require "vacation" missing`},
		{"if keep { }", 1, 4, `"keep" is a command, not a test`},
		{"exists \"x\";", 1, 1, `"exists" is a test, not a command`},
		{"keep;\n  redirect text: x\nfoo\n.\n;", 2, 18, `"text:" must be followed by the end of the line`},
	}
	expectCompileErrors(t, cases)
}

// TestRedirectPolicy checks that the forwarding policy refuses constant targets at compile time and every target
// at run time, where the refusal is an error and so keeps the message.
func TestRedirectPolicy(t *testing.T) {
	policy := func(addr string) error {
		if !strings.HasSuffix(addr, "@example.gov.vn") {
			return errors.New("forwarding outside the organisation is not allowed")
		}
		return nil
	}
	_, err := Compile([]byte(`redirect "me@gmail.example";`), Options{Redirect: policy})
	if err == nil || !strings.Contains(err.Error(), "outside the organisation") || !strings.Contains(err.Error(), "line 1, column 10") {
		t.Fatalf("compile: %v", err)
	}
	s, err := Compile([]byte(`require "variables"; set "to" "me@gmail.example"; redirect "${to}";`), Options{Redirect: policy})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.Run(newMessage("\n"), Envelope{}, RunOptions{}); err == nil || res != nil {
		t.Fatalf("run: %v, %v", res, err)
	}
	s = mustCompile(t, `redirect "a@example.gov.vn";`)
	if _, err := s.Run(newMessage("\n"), Envelope{}, RunOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestLexer(t *testing.T) {
	cases := []struct{ src, want string }{
		{`"a\"b\\c\d"`, `a"b\cd`},
		{"text: # comment\r\nline 1\r\n..dot\r\n.\r\n", "line 1\r\n.dot\r\n"},
		{"text:\n.\n", ""},
		{"\"two\nlines\"", "two\nlines"},
	}
	for _, c := range cases {
		l := lexer{src: c.src, line: 1, col: 1}
		tok, err := l.next()
		if err != nil || tok.kind != tokString || tok.text != c.want {
			t.Errorf("%q: got %q (%v), want %q", c.src, tok.text, err, c.want)
		}
	}
	l := lexer{src: "100K 2m 3G 7", line: 1, col: 1}
	for _, want := range []int64{100 << 10, 2 << 20, 3 << 30, 7} {
		if tok, err := l.next(); err != nil || tok.num != want {
			t.Errorf("number: got %d (%v), want %d", tok.num, err, want)
		}
	}
}
