//go:build unix

package main

import (
	"errors"
	"os"
	"syscall"
)

// fileLocked reports whether another process holds the lock bbolt takes on the store file (flock, exclusive
// while a server has it open), so that a failed open can be explained.
func fileLocked(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	fd := int(f.Fd())
	err = syscall.Flock(fd, syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(fd, syscall.LOCK_UN)
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}
