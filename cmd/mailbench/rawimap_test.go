package main

import (
	"bufio"
	"net"
	"slices"
	"strings"
	"testing"
)

// TestRawReplyCounts reads scripted replies: FETCH responses with literals (whose bytes may look like responses),
// SEARCH, ESEARCH and SORT numbers, other untagged responses, and a tagged NO.
func TestRawReplyCounts(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	c := newRawIMAP(client)
	defer c.Close()
	script := []struct{ reply, wantCmd string }{
		{"* 1 FETCH (UID 4 BODY[] {12}\r\n* 9 FETCH \r\n)\r\n* 3 EXISTS\r\n* 2 FETCH (UID 5 BODY[] ~{3}\r\nabc FLAGS ())\r\nr1 OK done\r\n", "r1 UID FETCH 1:* BODY.PEEK[]"},
		{"* SEARCH 2 5 9\r\nr2 OK\r\n", "r2 UID SEARCH ALL"},
		{"* ESEARCH (TAG \"r3\") UID ALL 1:3,7\r\nr3 OK\r\n", "r3 UID SEARCH RETURN (ALL) ALL"},
		{"* SORT 9 4\r\nr4 OK\r\n", "r4 UID SORT (DATE) UTF-8 ALL"},
		{"r5 NO [CANNOT] no\r\n", "r5 UID SORT (DATE) UTF-8 ALL"},
	}
	go func() {
		r := bufio.NewReader(server)
		for _, s := range script {
			line, err := r.ReadString('\n')
			if err != nil || strings.TrimSpace(line) != s.wantCmd {
				t.Errorf("command %q (%v), want %q", line, err, s.wantCmd)
				return
			}
			server.Write([]byte(s.reply))
		}
	}()
	reply, err := c.command("UID FETCH 1:* BODY.PEEK[]")
	if err != nil || reply.fetches != 2 || reply.literals != 15 {
		t.Errorf("FETCH: %+v, %v; want 2 responses and 15 literal bytes", reply, err)
	}
	for _, want := range []struct {
		command string
		numbers []uint32
	}{{"UID SEARCH ALL", []uint32{2, 5, 9}}, {"UID SEARCH RETURN (ALL) ALL", []uint32{1, 2, 3, 7}}, {"UID SORT (DATE) UTF-8 ALL", []uint32{9, 4}}} {
		if reply, err := c.command(want.command); err != nil || !slices.Equal(reply.numbers, want.numbers) {
			t.Errorf("%s: %v, %v; want %v", want.command, reply.numbers, err, want.numbers)
		}
	}
	if _, err := c.command("UID SORT (DATE) UTF-8 ALL"); err == nil || !strings.Contains(err.Error(), "NO [CANNOT]") {
		t.Errorf("a NO reply gave %v", err)
	}
}
