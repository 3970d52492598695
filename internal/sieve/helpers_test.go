package sieve

import (
	"errors"
	"strings"
	"testing"
)

// testMessage is a message read from "Name: value" lines, a blank line and a body.
type testMessage struct {
	header map[string][]string
	body   string
}

func newMessage(raw string) *testMessage {
	m := &testMessage{header: map[string][]string{}}
	head, body, _ := strings.Cut(strings.ReplaceAll(raw, "\r\n", "\n"), "\n\n")
	m.body = body
	var last string
	for _, line := range strings.Split(head, "\n") {
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && last != "" {
			vals := m.header[last]
			vals[len(vals)-1] += line
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.ToLower(name)
		m.header[last] = append(m.header[last], strings.TrimSpace(value))
	}
	return m
}

func (m *testMessage) HeaderValues(name string) []string { return m.header[strings.ToLower(name)] }
func (m *testMessage) Size() int64                       { return int64(len(m.body) + 200) }
func (m *testMessage) BodyText() string                  { return m.body }
func (m *testMessage) RawBody() []byte                   { return []byte(m.body) }

func mustCompile(t *testing.T, script string) *Script {
	t.Helper()
	s, err := Compile([]byte(script), Options{})
	if err != nil {
		t.Fatalf("Compile: %v\nscript:\n%s", err, script)
	}
	return s
}

func mustRun(t *testing.T, script string, msg Message, env Envelope) *Result {
	t.Helper()
	res, err := mustCompile(t, script).Run(msg, env, RunOptions{})
	if err != nil {
		t.Fatalf("Run: %v\nscript:\n%s", err, script)
	}
	return res
}

// summary writes a result in one line, so that tables can say what they expect.
func summary(r *Result) string {
	var parts []string
	if r.ImplicitKeep {
		parts = append(parts, "implicit")
	}
	if r.Keep != nil {
		parts = append(parts, "keep"+flagsText(r.Keep.Flags))
	}
	for _, f := range r.FileInto {
		s := "fileinto:" + f.Mailbox + flagsText(f.Flags)
		if f.Create {
			s += "+create"
		}
		if f.Copy {
			s += "+copy"
		}
		parts = append(parts, s)
	}
	for _, rd := range r.Redirects {
		s := "redirect:" + rd.Address
		if rd.Copy {
			s += "+copy"
		}
		parts = append(parts, s)
	}
	if r.Discard {
		parts = append(parts, "discard")
	}
	if r.Vacation != nil {
		parts = append(parts, "vacation")
	}
	if len(r.Flags) > 0 {
		parts = append(parts, "flags"+flagsText(r.Flags))
	}
	return strings.Join(parts, " ")
}

func flagsText(flags []string) string {
	if len(flags) == 0 {
		return ""
	}
	return "[" + strings.Join(flags, " ") + "]"
}

// compileErrorCase is a script Compile must refuse, at a line and column, with a message containing text.
type compileErrorCase struct {
	script       string
	line, column int
	text         string
}

func expectCompileErrors(t *testing.T, cases []compileErrorCase) {
	t.Helper()
	for _, c := range cases {
		_, err := Compile([]byte(c.script), Options{})
		var se *Error
		if !errors.As(err, &se) {
			t.Errorf("script %q: error %v, want an *Error", c.script, err)
			continue
		}
		if se.Line != c.line || se.Column != c.column || !strings.Contains(se.Msg, c.text) {
			t.Errorf("script %q:\n got %d:%d %q\nwant %d:%d containing %q", c.script, se.Line, se.Column, se.Msg, c.line, c.column, c.text)
		}
	}
}
