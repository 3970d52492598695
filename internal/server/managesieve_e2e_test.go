package server

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mailserver/internal/admin"
)

// A filter editor's session (RFC 5804, as Thunderbird's add-on runs it, in Python) against the real server: the
// script lands in the store as the user's active script. The forwarding policy refuses a script that forwards
// outside the organisation, over ManageSieve and from the administration layer alike.
func TestManageSieveSessionStoresTheActiveScript(t *testing.T) {
	python := requireTool(t, "python3")
	cfg := newTestConfig(t)
	cfg.Sieve.ManageSieve = "127.0.0.1:0"
	ts := provision(startServerWith(t, cfg))
	script := "require [\"fileinto\", \"comparator-vnd-mailserver-vi-fold\"];\r\n" +
		"if header :comparator \"vnd-mailserver-vi-fold\" :contains \"subject\" \"bao cao\" { fileinto \"Báo cáo\"; }\r\n"
	scriptFile := filepath.Join(t.TempDir(), "script.sieve")
	if err := os.WriteFile(scriptFile, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "../managesieve/testdata/thunderbird.py")
	cmd.Env = append(os.Environ(), "MS_ADDR="+ts.Addr("managesieve"), "MS_CA="+ts.caFile(), "MS_USER="+testUsers[0],
		"MS_PASSWORD="+testPassword, "MS_SCRIPT="+scriptFile)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "session ok") {
		t.Fatalf("python session: %v\n%s", err, out)
	}
	acct, err := ts.Store().Account(testUsers[0])
	if err != nil {
		t.Fatal(err)
	}
	name, src, err := ts.Store().ActiveSieveScript(acct.ID)
	if err != nil || name != "Lọc thư đến" || string(src) != script {
		t.Fatalf("active script %q %q (%v), want %q", name, src, err, script)
	}

	err = ts.Admin().PutSieveScript(testUsers[0], "chuyển tiếp", "redirect \"ban@gmail.com\";\r\n", false)
	if !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), "forward_domains") {
		t.Errorf("a redirect outside the organisation: %v, want refused by the forwarding policy", err)
	}
	if err := ts.Admin().PutSieveScript(testUsers[0], "nội bộ", "redirect \"binh@example.gov.vn\";\r\n", false); err != nil {
		t.Errorf("a redirect within the organisation: %v", err)
	}
}
