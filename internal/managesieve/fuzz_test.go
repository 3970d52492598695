package managesieve

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzCommand feeds arbitrary bytes to the command reader: it must never panic, never keep a string over its
// limits, and always stop (every call consumes input or fails).
func FuzzCommand(f *testing.F) {
	for _, seed := range []string{
		"CAPABILITY\r\n",
		"PUTSCRIPT \"lọc thư\" {10+}\r\nkeep;\r\n   \r\n",
		"PUTSCRIPT {3}\r\nabc {4+}\r\nkeep\r\n",
		"HAVESPACE \"a\" 4294967295\r\nHAVESPACE \"a\" 4294967296\r\n",
		"NOOP \"a\\\"b\\\\\"\r\nNOOP \"\\x\"\r\n",
		"AUTHENTICATE \"PLAIN\" \"AGFuAHB3\"\r\n",
		"{99999999999+}\r\n",
		"X {5+}\r\nab",
		"\r\n\n \"\" {}\r\n{+}\r\n",
	} {
		f.Add([]byte(seed))
	}
	limits := readerLimits{MaxLineBytes: 64, MaxLiteralBytes: 32, MaxDrainBytes: 128}
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := &commandReader{r: bufio.NewReaderSize(bytes.NewReader(data), 16), limits: limits}
		for range 200 {
			cmd, err := cr.readCommand()
			var se *syntaxError
			switch {
			case errors.As(err, &se):
				continue
			case err != nil:
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) &&
					!errors.Is(err, errLineTooLong) && !errors.Is(err, errLiteralTooBig) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if cmd.Name == "" || len(cmd.Args) > maxArgs {
				t.Fatalf("bad command %+v", cmd)
			}
			var kept int
			for _, a := range cmd.Args {
				kept += len(a.Text)
				if a.Oversized && a.Text != "" {
					t.Fatalf("oversized argument %+v", a)
				}
				if a.Literal && !a.Oversized && int64(len(a.Text)) != a.Size {
					t.Fatalf("literal of %d bytes announced as %d", len(a.Text), a.Size)
				}
			}
			if int64(kept) > limits.MaxLiteralBytes+int64(limits.MaxLineBytes)*int64(maxArgs+1) {
				t.Fatalf("kept %d bytes for one command", kept)
			}
		}
	})
}

// The reader's answers to known inputs.
func TestReadCommand(t *testing.T) {
	tests := []struct {
		in      string
		name    string
		args    []string
		wantErr bool
	}{
		{"capability\r\n", "CAPABILITY", nil, false},
		{"PUTSCRIPT \"a b\" {5+}\r\nkeep;\r\n", "PUTSCRIPT", []string{"a b", "keep;"}, false},
		{"PUTSCRIPT {1}\r\na {2+}\r\nxy\r\n", "PUTSCRIPT", []string{"a", "xy"}, false},
		{"NOOP \"q\\\"\\\\\"\n", "NOOP", []string{`q"\`}, false},
		{"HAVESPACE \"a\" 12\r\n", "HAVESPACE", []string{"a", "12"}, false},
		{"NOOP \"a\\b\"\r\n", "", nil, true},
		{"NOOP  \"a\"\r\n", "", nil, true},
		{"NOOP {3+} \r\n", "", nil, true},
		{"\"NOOP\"\r\n", "", nil, true},
		{"A 1 2 3 4 5\r\n", "", nil, true},
	}
	for _, tt := range tests {
		cr := &commandReader{r: bufio.NewReader(bytes.NewReader([]byte(tt.in))),
			limits: readerLimits{MaxLineBytes: 100, MaxLiteralBytes: 100, MaxDrainBytes: 400}}
		cmd, err := cr.readCommand()
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: error %v", tt.in, err)
			continue
		}
		if tt.wantErr {
			continue
		}
		var got []string
		for _, a := range cmd.Args {
			got = append(got, a.Text)
		}
		if cmd.Name != tt.name || len(got) != len(tt.args) {
			t.Errorf("%q: got %s %q", tt.in, cmd.Name, got)
			continue
		}
		for i := range got {
			if got[i] != tt.args[i] {
				t.Errorf("%q: argument %d is %q, want %q", tt.in, i, got[i], tt.args[i])
			}
		}
	}
}
