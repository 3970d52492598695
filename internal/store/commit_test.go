package store

// commitCount is how many write transactions s has committed.
func commitCount(s *Store) uint64 { return s.CommitStats().Commits }
