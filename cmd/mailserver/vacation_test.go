package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVacationCommands sets an automatic reply for a user whose own filter is active, ends it, and refuses what
// makes no sense, with the server stopped.
func TestVacationCommands(t *testing.T) {
	e := directoryEnv(t)
	e.ok("keep;\n", "sieve", "put", userAn, "lọc", "--activate")
	text := filepath.Join(filepath.Dir(e.config), "nghi-phep.txt")
	if err := os.WriteFile(text, []byte("Tôi nghỉ phép đến hết năm.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantOut(t, "vacation set", e.ok("", "vacation", "set", userAn, "--from", "2026-12-20", "--until", "2026-12-31",
		"--message", text, "--subject", "Nghỉ phép"),
		"automatic reply of an.nv@vinhyen.gov.vn set from 2026-12-20 to 2026-12-31\n")
	e.wantAudit("sieve.activate", userAn, `script "vacation"`)
	rows := e.sieveList(userAn)
	if strings.Join(rows, "|") != "lọc - 6B|vacation yes "+strings.Fields(rows[len(rows)-1])[2] {
		t.Errorf("scripts during the vacation: %q", rows)
	}
	script := e.ok("", "sieve", "get", userAn, "vacation")
	for _, want := range []string{`currentdate :value "ge" "date" "2026-12-20"`, `:subject "Nghỉ phép"`, "Tôi nghỉ phép đến hết năm."} {
		if !strings.Contains(script, want) {
			t.Errorf("the vacation script lacks %q:\n%s", want, script)
		}
	}
	wantOut(t, "vacation off", e.ok("", "vacation", "off", userAn), "automatic reply of an.nv@vinhyen.gov.vn ended\n")
	if rows := e.sieveList(userAn); len(rows) != 1 || rows[0] != "lọc yes 6B" {
		t.Errorf("after vacation off: %q, want the user's own filter active again", rows)
	}
	e.fails(1, "an.nv@vinhyen.gov.vn has no automatic reply set (`mailserver vacation set` sets one)", "", "vacation", "off", userAn)
	e.fails(1, `--until "31/12/2026": write the date as YYYY-MM-DD, e.g. 2026-12-31`, "", "vacation", "set", userAn, "--until", "31/12/2026")
	e.fails(1, "the reply would end (2026-12-01) before it starts (2026-12-20)", "", "vacation", "set", userAn,
		"--from", "2026-12-20", "--until", "2026-12-01")
}
