package store

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCopySourceIsReadAhead: a compaction reads its source through bbolt's mapping, which bbolt advises for
// random reads, so a source not in the page cache was read one page per disk read: 2m49s to compact 10 GB, 53 s
// when the mapping is advised for reading in order.
func TestCopySourceIsReadAhead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backup.db") // as 'backup --compact' compacts its copy
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newTestStore(t).Backup(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	db, err := openCopySource(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if flags := mappingFlags(t, path); !slices.Contains(flags, "sr") {
		t.Errorf("the source is mapped with flags %q, want sr (sequential read advised)", flags)
	}
}

// mappingFlags returns the VmFlags of this process's mapping of the file at path (proc(5), /proc/PID/smaps).
func mappingFlags(t *testing.T, path string) []string {
	t.Helper()
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	inMapping := false
	for line := range strings.Lines(string(smaps)) {
		fields := strings.Fields(line)
		switch {
		case len(fields) >= 6 && strings.Contains(fields[0], "-"):
			inMapping = fields[len(fields)-1] == path
		case inMapping && len(fields) > 0 && fields[0] == "VmFlags:":
			return fields[1:]
		}
	}
	t.Fatalf("%s is not mapped", path)
	return nil
}
