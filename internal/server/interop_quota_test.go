package server

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestInteropPythonImaplibQuota: Python's imaplib reads the quota with GETQUOTAROOT and GETQUOTA, and an APPEND
// over it gets NO [OVERQUOTA].
func TestInteropPythonImaplibQuota(t *testing.T) {
	python := requireTool(t, "python3")
	ts := startServer(t)
	const user, quotaKiB = "an@example.gov.vn", 64
	if err := ts.Admin().SetQuota(user, quotaKiB<<10); err != nil {
		t.Fatal(err)
	}
	c := ts.imapLogin(user, nil)
	raw := []byte("Subject: Báo cáo\r\n\r\nNội dung.\r\n")
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	cmd.Write(raw)
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	script := exec.Command(python, "testdata/quota.py")
	script.Env = append(os.Environ(), "MS_CA="+ts.caFile(), "MS_USER="+user, "MS_PASSWORD="+testPassword,
		"MS_IMAPS="+ts.port("imaps"), "MS_QUOTA_KIB="+strconv.Itoa(quotaKiB))
	out, err := script.CombinedOutput()
	t.Logf("python:\n%s", out)
	if err != nil {
		t.Fatalf("python quota interop failed: %v", err)
	}
	if got := strings.Count(string(out), "OK "); got != 3 {
		t.Errorf("%d steps passed, want 3", got)
	}
}
