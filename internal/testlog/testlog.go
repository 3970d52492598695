// Package testlog collects a logger's JSON lines (slog.NewJSONHandler) for the tests in several packages that check
// what the server logs.
package testlog

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

// Buffer is the writer to give a log handler (JSON for Lines); it is safe for concurrent use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Line is one logged line: its attributes, and its text for checks that look at every byte.
type Line struct {
	Attrs map[string]any
	Raw   string
}

// Msg is the line's message.
func (l Line) Msg() string { return l.Str("msg") }

// Str is the string attribute key, or "".
func (l Line) Str(key string) string {
	s, _ := l.Attrs[key].(string)
	return s
}

// Num is the number attribute key, or 0.
func (l Line) Num(key string) int {
	f, _ := l.Attrs[key].(float64)
	return int(f)
}

// Lines parses the lines written so far. It fails the test on a line that is not a JSON object, or that has a key
// twice, which JSON readers would take only one of.
func (b *Buffer) Lines(t testing.TB) []Line {
	t.Helper()
	text := b.String()
	var out []Line
	for raw := range strings.SplitSeq(strings.TrimSuffix(text, "\n"), "\n") {
		if raw == "" {
			continue
		}
		line := Line{Raw: raw}
		if err := json.Unmarshal([]byte(raw), &line.Attrs); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, raw)
		}
		if key := repeatedKey(raw); key != "" {
			t.Errorf("a log line has the key %q twice: %s", key, raw)
		}
		out = append(out, line)
	}
	return out
}

// Find returns the lines whose message is msg.
func (b *Buffer) Find(t testing.TB, msg string) []Line {
	t.Helper()
	var out []Line
	for _, l := range b.Lines(t) {
		if l.Msg() == msg {
			out = append(out, l)
		}
	}
	return out
}

// repeatedKey returns a key that the JSON object raw has twice, or "".
func repeatedKey(raw string) string {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.Token() // {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		key, _ := tok.(string)
		if seen[key] {
			return key
		}
		seen[key] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}
