package imap

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// contextSearchFixture is a raw session on INBOX with n messages.
func contextSearchFixture(t *testing.T, ts *testServer, n int) *rawConn {
	t.Helper()
	fillInbox(t, ts.client(t, nil), n)
	return inboxSession(t, ts)
}

// inboxSession is a raw session with INBOX selected.
func inboxSession(t *testing.T, ts *testServer) *rawConn {
	t.Helper()
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	rc.ok("SELECT INBOX")
	return rc
}

func TestDialogSearchPartial(t *testing.T) {
	ts := newTestServer(t)
	rc := contextSearchFixture(t, ts, 5)
	if lines := rc.ok("CAPABILITY"); !containsLine(lines, " CONTEXT=SEARCH") {
		t.Errorf("CAPABILITY: %q", lines)
	}
	for _, c := range []struct{ cmd, want string }{
		{"SEARCH RETURN (PARTIAL 2:4) ALL", "PARTIAL (2:4 2:4)"},
		{"SEARCH RETURN (PARTIAL 4:2) ALL", "PARTIAL (2:4 2:4)"},
		{"SEARCH RETURN (PARTIAL 1:6) ALL", "PARTIAL (1:6 1:5)"},
		{"SEARCH RETURN (PARTIAL 6:6) ALL", "PARTIAL (6:6 NIL)"},
		{"SEARCH RETURN (PARTIAL 2:3) 1:2,4:5", "PARTIAL (2:3 2,4)"},
		{"SEARCH RETURN (PARTIAL -1:-2) ALL", "PARTIAL (-1:-2 4:5)"}, // RFC 9394: from the end
		{"SEARCH RETURN (PARTIAL -2:-1) 1:3", "PARTIAL (-1:-2 2:3)"},
		{"SEARCH RETURN (PARTIAL -6:-9) ALL", "PARTIAL (-6:-9 NIL)"},
		{"SEARCH RETURN (COUNT PARTIAL 1:1) ALL", "COUNT 5 PARTIAL (1:1 1)"},
		{"UID SEARCH RETURN (PARTIAL 5:5) ALL", "UID PARTIAL (5:5 5)"},
	} {
		lines := rc.ok("%s", c.cmd)
		want := fmt.Sprintf(`* ESEARCH (TAG "T%d") %s`, rc.tag, c.want)
		if !slices.Contains(lines, want) {
			t.Errorf("%s: %q, want %q", c.cmd, lines, want)
		}
	}
	for _, bad := range []string{"1", "1:*", "*:1", "0:3", "-1:2", "1:99999999999"} {
		if _, status := rc.cmd("SEARCH RETURN (PARTIAL %s) ALL", bad); !strings.HasPrefix(status, "BAD") {
			t.Errorf("PARTIAL %s: %s, want BAD", bad, status)
		}
	}
}

// TestDialogSearchUpdateFollowsChanges keeps a search up to date while this session and another one change flags,
// append and expunge (RFC 5267 section 4.3).
func TestDialogSearchUpdateFollowsChanges(t *testing.T) {
	ts := newTestServer(t)
	rc := contextSearchFixture(t, ts, 5)
	other := inboxSession(t, ts)

	rc.ok(`STORE 1 +FLAGS.SILENT (\Seen)`)
	lines := rc.ok("SEARCH RETURN (UPDATE ALL) SEEN")
	tag := fmt.Sprintf("T%d", rc.tag)
	esearch := func(rest string) string { return fmt.Sprintf(`* ESEARCH (TAG "%s") %s`, tag, rest) }
	if !slices.Contains(lines, esearch("ALL 1")) {
		t.Fatalf("initial result: %q", lines)
	}

	// Its own flag change.
	lines = rc.ok(`STORE 2,3 +FLAGS.SILENT (\Seen)`)
	if !slices.Contains(lines, esearch("ADDTO (0 2:3)")) {
		t.Errorf("own STORE: %q", lines)
	}
	// Another session's flag change, seen at the next command.
	other.ok(`STORE 1 -FLAGS.SILENT (\Seen)`)
	lines = rc.ok("NOOP")
	if !slices.Contains(lines, esearch("REMOVEFROM (0 1)")) {
		t.Errorf("other session's STORE: %q", lines)
	}
	// New mail that matches: announced after its EXISTS.
	other.ok(`APPEND INBOX (\Seen) {12+}` + "\r\nSubject: x\r\n")
	lines = rc.ok("NOOP")
	exists, addto := slices.Index(lines, "* 6 EXISTS"), slices.Index(lines, esearch("ADDTO (0 6)"))
	if exists < 0 || addto < exists {
		t.Errorf("append: %q, want EXISTS then ADDTO", lines)
	}
	// An expunge of a matching message: REMOVEFROM with the number it had, before the EXPUNGE.
	other.ok(`STORE 2 +FLAGS.SILENT (\Deleted)`)
	other.ok("EXPUNGE")
	lines = rc.ok("NOOP")
	removed, expunged := slices.Index(lines, esearch("REMOVEFROM (0 2)")), slices.Index(lines, "* 2 EXPUNGE")
	if removed < 0 || expunged < removed {
		t.Errorf("expunge: %q, want REMOVEFROM then EXPUNGE", lines)
	}
	// The result is now 2 (was 3) and 5 (was 6); after CANCELUPDATE nothing more comes.
	lines = rc.ok(`STORE 1:5 -FLAGS.SILENT (\Seen)`)
	if !slices.Contains(lines, esearch("REMOVEFROM (0 2,5)")) {
		t.Errorf("after the expunge: %q", lines)
	}
	rc.ok(`CANCELUPDATE "%s"`, tag)
	lines = rc.ok(`STORE 1 +FLAGS.SILENT (\Seen)`)
	if containsLine(lines, "ESEARCH") {
		t.Errorf("after CANCELUPDATE: %q", lines)
	}
	if _, status := rc.cmd(`CANCELUPDATE "%s"`, tag); !strings.HasPrefix(status, "BAD") {
		t.Errorf("CANCELUPDATE of a cancelled search: %s", status)
	}
}

func TestDialogSearchUpdateWithUIDsAndIdle(t *testing.T) {
	ts := newTestServer(t)
	rc := contextSearchFixture(t, ts, 3)
	other := inboxSession(t, ts)

	lines := rc.ok("UID SEARCH RETURN (UPDATE) FLAGGED")
	tag := fmt.Sprintf("T%d", rc.tag)
	if !slices.Contains(lines, fmt.Sprintf(`* ESEARCH (TAG "%s") UID`, tag)) {
		t.Fatalf("UPDATE alone: %q", lines)
	}
	rc.startIdle()
	other.ok(`STORE 2 +FLAGS.SILENT (\Flagged)`)
	want := fmt.Sprintf(`* ESEARCH (TAG "%s") UID ADDTO (0 2)`, tag)
	for i := 0; ; i++ {
		line := rc.readLine() // fails the test after 5 s without a line
		if line == want {
			break
		}
		if i == 10 {
			t.Fatalf("no %q in IDLE", want)
		}
	}
	rc.endIdle()
}

// startIdle sends IDLE and waits for its continuation request.
func (rc *rawConn) startIdle() {
	rc.t.Helper()
	rc.tag++
	fmt.Fprintf(rc.c, "T%d IDLE\r\n", rc.tag)
	if line := rc.readLine(); !strings.HasPrefix(line, "+") {
		rc.t.Fatalf("IDLE: %s", line)
	}
}

// endIdle sends DONE and checks the tagged OK.
func (rc *rawConn) endIdle() {
	rc.t.Helper()
	fmt.Fprintf(rc.c, "DONE\r\n")
	if line := rc.readLine(); !strings.HasPrefix(line, fmt.Sprintf("T%d OK", rc.tag)) {
		rc.t.Errorf("IDLE end: %s", line)
	}
}

// TestDialogSearchUpdateLimit: past maxLiveSearches, and with PARTIAL, the search is answered without updates and
// says so with NOUPDATE.
func TestDialogSearchUpdateLimit(t *testing.T) {
	ts := newTestServer(t)
	rc := contextSearchFixture(t, ts, 2)
	for i := 0; i < maxLiveSearches; i++ {
		if lines := rc.ok("SEARCH RETURN (UPDATE) ALL"); containsLine(lines, "NOUPDATE") {
			t.Fatalf("search %d: %q", i+1, lines)
		}
	}
	lines := rc.ok("SEARCH RETURN (UPDATE COUNT) ALL")
	if !slices.Contains(lines, fmt.Sprintf(`* NO [NOUPDATE "T%d"] This search will not be kept up to date`, rc.tag)) ||
		!containsLine(lines, "COUNT 2") {
		t.Errorf("one search too many: %q", lines)
	}
	rc.ok(`CANCELUPDATE "T3"`)
	if lines := rc.ok("SEARCH RETURN (UPDATE PARTIAL 1:1) ALL"); !containsLine(lines, "NOUPDATE") {
		t.Errorf("UPDATE with PARTIAL: %q", lines)
	}
	// A new selection starts without live searches.
	rc.ok("SELECT INBOX")
	if lines := rc.ok("SEARCH RETURN (UPDATE) ALL"); containsLine(lines, "NOUPDATE") {
		t.Errorf("after SELECT: %q", lines)
	}
}

// TestSearchUpdateStaysConsistent keeps a sequence-number search up to date while four sessions append, flag and
// expunge at once, applying every ADDTO, REMOVEFROM and EXPUNGE as a client would: the result must always name
// messages that exist, a REMOVEFROM must precede the EXPUNGE of a message in the result, and at the end the
// result must equal a fresh SEARCH.
func TestSearchUpdateStaysConsistent(t *testing.T) {
	ts := newTestServer(t)
	rc := contextSearchFixture(t, ts, 3)
	tracked := liveResult{t: t, set: map[uint32]bool{}, exists: 3}
	tracked.apply(rc.ok("SEARCH RETURN (UPDATE ALL) SEEN"))

	const sessions, rounds = 4, 20
	errs := make(chan error, sessions)
	for i := range sessions {
		c := ts.client(t, nil)
		selectBox(t, c, "INBOX", false)
		go func() { errs <- churn(c, i, rounds) }()
	}
	for done := 0; done < sessions; {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
			done++
		default:
			tracked.apply(rc.ok("NOOP"))
		}
	}
	tracked.apply(rc.ok("NOOP"))
	var want []uint32
	for _, l := range rc.ok("SEARCH SEEN") {
		for _, f := range strings.Fields(strings.TrimPrefix(l, "* SEARCH")) {
			n, _ := strconv.Atoi(f)
			want = append(want, uint32(n))
		}
	}
	if got := tracked.sorted(); !slices.Equal(got, want) || tracked.added == 0 {
		t.Errorf("kept up to date: %v (%d ADDTO), SEARCH now: %v", got, tracked.added, want)
	}
}

// liveResult is a client's copy of a live search result by sequence number.
type liveResult struct {
	t      *testing.T
	set    map[uint32]bool
	exists uint32
	added  int // messages ADDTO named
}

func (r *liveResult) apply(lines []string) {
	r.t.Helper()
	for _, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) == 3 && f[2] == "EXISTS":
			n, _ := strconv.Atoi(f[1])
			r.exists = uint32(n)
		case len(f) == 3 && f[2] == "EXPUNGE":
			n, _ := strconv.Atoi(f[1])
			r.expunge(uint32(n))
		case len(f) >= 5 && f[1] == "ESEARCH":
			r.esearch(f[4:])
		}
	}
}

func (r *liveResult) expunge(n uint32) {
	if r.set[n] {
		r.t.Errorf("EXPUNGE %d of a message still in the result", n)
	}
	next := map[uint32]bool{}
	for m := range r.set {
		switch {
		case m > n:
			next[m-1] = true
		case m < n:
			next[m] = true
		}
	}
	r.set, r.exists = next, r.exists-1
}

// esearch applies "ALL set", "ADDTO (pos set)" or "REMOVEFROM (pos set)".
func (r *liveResult) esearch(f []string) {
	if len(f) < 2 {
		return
	}
	set := strings.TrimSuffix(f[len(f)-1], ")")
	for _, n := range expandSet(r.t, set) {
		if n == 0 || n > r.exists {
			r.t.Errorf("%s names message %d of %d", f[0], n, r.exists)
		}
		switch f[0] {
		case "ADDTO":
			r.added++
			r.set[n] = true
		case "ALL":
			r.set[n] = true
		case "REMOVEFROM":
			if !r.set[n] {
				r.t.Errorf("REMOVEFROM %d, which is not in the result", n)
			}
			delete(r.set, n)
		}
	}
}

func (r *liveResult) sorted() []uint32 {
	out := make([]uint32, 0, len(r.set))
	for n := range r.set {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// expandSet lists the numbers of a sequence set without "*".
func expandSet(t *testing.T, set string) []uint32 {
	var out []uint32
	for _, r := range strings.Split(set, ",") {
		lo, hi, isRange := strings.Cut(r, ":")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil {
			t.Fatalf("bad set %q", set)
		}
		for n := min(a, b); n <= max(a, b); n++ {
			out = append(out, uint32(n))
		}
	}
	return out
}
