package store

import (
	"fmt"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// readInOrder advises the kernel that db's mapping will be read in order, replacing the random-read advice bbolt
// gives it, so that page faults read ahead (madvise(2) MADV_SEQUENTIAL).
func readInOrder(db *bolt.DB) error {
	return db.View(func(tx *bolt.Tx) error {
		_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, db.Info().Data, uintptr(tx.Size()), syscall.MADV_SEQUENTIAL)
		if errno != 0 {
			return fmt.Errorf("madvise: %w", errno)
		}
		return nil
	})
}
