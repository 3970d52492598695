package server

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// SORT and THREAD as Python's imaplib speaks them (testdata/interop_sort.py).
func TestInteropPythonImaplibSortThread(t *testing.T) {
	python := requireTool(t, "python3")
	ts := startServer(t)
	cmd := exec.Command(python, "testdata/interop_sort.py")
	cmd.Env = append(os.Environ(), "MS_CA="+ts.caFile(), "MS_USER=an@example.gov.vn", "MS_PASSWORD="+testPassword,
		"MS_IMAPS="+ts.port("imaps"))
	out, err := cmd.CombinedOutput()
	t.Logf("python:\n%s", out)
	if err != nil {
		t.Fatalf("python SORT/THREAD interop failed: %v", err)
	}
	if got := strings.Count(string(out), "OK "); got != 5 {
		t.Errorf("%d steps passed, want 5", got)
	}
}
