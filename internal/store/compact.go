package store

import (
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CompactResult tells how much a compaction saved.
type CompactResult struct{ Before, After int64 }

// Compact rewrites the store file at path without its free pages; bbolt files never shrink by themselves after
// mail is deleted. It needs the file to itself (the server stopped) and room for a second copy. The copy is
// written beside the original, synced, checked, and only then renamed over it, so a failure at any point leaves
// the original untouched.
func Compact(path string) (CompactResult, error) {
	src, err := openCopySource(path)
	if errors.Is(err, bolt.ErrTimeout) {
		return CompactResult{}, fmt.Errorf("compact %s: the file is in use: stop the server first", path)
	}
	if err != nil {
		return CompactResult{}, fmt.Errorf("compact %s: %w", path, err)
	}
	defer src.Close()
	tmp := path + ".compact"
	if err := compactInto(tmp, src); err != nil {
		return CompactResult{}, fmt.Errorf("compact %s: %w", path, err)
	}
	if err := verifyCompacted(tmp); err != nil {
		os.Remove(tmp)
		return CompactResult{}, err
	}
	before, after := fileSize(path), fileSize(tmp)
	src.Close()
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return CompactResult{}, fmt.Errorf("compact: replace %s: %w", path, err)
	}
	return CompactResult{Before: before, After: after}, nil
}

// CompactCopy writes a compacted copy of the store file at src (which must not be in use) to a new file at dst,
// and verifies the copy as VerifyBackup does. A failure removes dst.
func CompactCopy(src, dst string) (BackupInfo, error) {
	db, err := openCopySource(src)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("compact %s: %w", src, err)
	}
	defer db.Close()
	if err := compactInto(dst, db); err != nil {
		return BackupInfo{}, fmt.Errorf("compact %s: %w", src, err)
	}
	info, err := VerifyBackup(dst)
	if err != nil {
		os.Remove(dst)
		return BackupInfo{}, fmt.Errorf("compacted copy: %w", err)
	}
	return info, nil
}

// openCopySource opens the store file at path read-only, to be read whole, in order, by a compaction: bbolt
// advises its mapping for random reads, so a file not in the page cache would be read one page per disk read
// (2m49s for 10 GB instead of 53 s).
func openCopySource(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return nil, err
	}
	if err := readInOrder(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// compactInto writes src without its free pages to a new file at path, committed and synced. A failure removes
// the file.
func compactInto(path string, src *bolt.DB) error {
	os.Remove(path) // left over from an interrupted run
	dst, err := bolt.Open(path, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := bolt.Compact(dst, src, 64<<20); err != nil {
		dst.Close()
		os.Remove(path)
		return err
	}
	if err := dst.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// verifyCompacted opens the new file as a store and runs the integrity check before it replaces the original.
func verifyCompacted(path string) error {
	s, err := Open(path, Options{})
	if err != nil {
		return fmt.Errorf("compact: the new file does not open: %w", err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		return fmt.Errorf("compact: the new file fails the integrity check, original kept: %w", err)
	}
	return nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
