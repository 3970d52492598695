package message

import (
	"strings"
	"testing"
)

func TestCountHops(t *testing.T) {
	header := strings.Repeat("Received: from a by b; Mon, 2 Jan 2006 15:04:05 +0700\r\n", 3) +
		"received:\r\n\tfolded by c\r\nSubject: Received: not a hop\r\n\r\nReceived: in the body\r\n"
	if got := CountHops([]byte(header)); got != 4 {
		t.Errorf("CountHops = %d, want 4 (three, one lower-case and folded; none from Subject or body)", got)
	}
	if got := CountHops([]byte("Subject: x\r\n")); got != 0 {
		t.Errorf("CountHops without a body = %d, want 0", got)
	}
}
