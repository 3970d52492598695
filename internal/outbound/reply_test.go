package outbound

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func parse(t *testing.T, raw string) (Reply, error) {
	t.Helper()
	code, lines, err := readReply(bufio.NewReaderSize(strings.NewReader(raw), maxReplyLine))
	if err != nil {
		return Reply{}, err
	}
	return newReply("mx.test.gov.vn", code, lines), nil
}

func TestReadReply(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		permanent bool
	}{
		{"250 OK\r\n", "250 OK", false},
		{"250\r\n", "250", false},
		{"550 5.1.1 <x@y>: no such user\r\n", "550 5.1.1 <x@y>: no such user", true},
		// RFC 2034 repeats the code on every line; go-smtp puts it on the last only.
		{"550-5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 third\r\n", "550 5.7.1 first second third", true},
		{"451-try\r\n451 4.3.0 later\r\n", "451 4.3.0 try later", false},
		// A code of another class, or malformed, is text.
		{"550 4.1.1 odd\r\n", "550 4.1.1 odd", true},
		{"421 4.4.1234 x\r\n", "421 4.4.1234 x", false},
		{"554 bare LF\n", "554 bare LF", true},
		{"550 5.1.1 bell\a and \x1b[2J escape \xff\xfe\r\n", "550 5.1.1 bell? and ?[2J escape \ufffd\ufffd", true},
	} {
		r, err := parse(t, tc.raw)
		if err != nil {
			t.Errorf("%q: %v", tc.raw, err)
			continue
		}
		if r.String() != tc.want || r.Permanent() != tc.permanent || r.Host != "mx.test.gov.vn" {
			t.Errorf("%q: got %q (permanent %v)", tc.raw, r.String(), r.Permanent())
		}
	}
	if r, _ := parse(t, "550 4.1.1 odd\r\n"); r.Enhanced != "" {
		t.Errorf("enhanced code %q of the wrong class taken", r.Enhanced)
	}
}

func TestReadReplyMalformed(t *testing.T) {
	for _, raw := range []string{
		"hello\r\n",
		"25\r\n",
		"199 too low\r\n",
		"600 too high\r\n",
		"250-a\r\n251 b\r\n",
		"250_x\r\n",
		"250 " + strings.Repeat("x", maxReplyLine) + "\r\n",
		strings.Repeat("250-"+strings.Repeat("x", 1000)+"\r\n", 100),
	} {
		if _, err := parse(t, raw); !errors.Is(err, errProtocol) {
			t.Errorf("%.40q: got %v, want a protocol error", raw, err)
		}
	}
	if _, err := parse(t, "250-more\r\n"); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut reply: %v", err)
	}
}

func TestReplyTextBounded(t *testing.T) {
	r, err := parse(t, "550 5.0.0 "+strings.Repeat("ộ", 400)+"\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Text) > maxReplyText || len(r.Text) < maxReplyText-3 || !strings.HasSuffix(r.Text, "ộ") {
		t.Errorf("text of %d bytes, ends %q", len(r.Text), r.Text[len(r.Text)-4:])
	}
}

func TestReplyDiagnosis(t *testing.T) {
	r := diagnosis("", statusNoAnswer, "connecting: %s", "refused\r\nInjected: yes")
	if r.String() != "4.4.1 connecting: refused??Injected: yes" || r.Permanent() {
		t.Errorf("got %q permanent %v", r.String(), r.Permanent())
	}
	if r := diagnosis("mx", statusTooBig, "too big"); !r.Permanent() {
		t.Errorf("%q not permanent", r.String())
	}
}
