package managesieve

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mailserver/internal/testnet"
)

// An independent client: a Python script that speaks RFC 5804 the way Thunderbird's sieve add-on does.
func TestInteropPythonThunderbirdSession(t *testing.T) {
	python := testnet.RequireTool(t, "python3")
	ts := startServer(t)
	script := "require [\"fileinto\", \"vacation\"];\r\n" +
		"if header :contains \"subject\" \"Công văn\" { fileinto \"Công văn\"; stop; }\r\n" +
		"vacation :days 3 \"Tôi đang nghỉ phép. I am on leave.\";\r\n"
	scriptFile := filepath.Join(t.TempDir(), "script.sieve")
	if err := os.WriteFile(scriptFile, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "testdata/thunderbird.py")
	cmd.Env = append(os.Environ(), "MS_ADDR="+ts.addr, "MS_CA="+ts.caFile, "MS_USER="+testUser,
		"MS_PASSWORD="+testPassword, "MS_SCRIPT="+scriptFile)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "session ok") {
		t.Fatalf("python session: %v\n%s", err, out)
	}
	if got, _ := ts.scripts.get("Lọc thư đến"); got != script {
		t.Fatalf("stored %q, want %q", got, script)
	}
	if list, _ := ts.scripts.List(7); len(list) != 1 || !list[0].Active {
		t.Fatalf("scripts after the session: %v", list)
	}
}
