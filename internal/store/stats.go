package store

import bolt "go.etcd.io/bbolt"

// Stats counts what the store holds, for checks, tests and (later) metrics.
type Stats struct {
	Bodies   int    // distinct message bodies
	BodyRefs uint64 // mailbox entries and queued messages pointing at them (a body sent to 300 people: 1 body, 300 refs)
	Chunks   int    // 64 KiB pieces holding the bodies' bytes
}

// Stats reads the counts in one consistent snapshot.
func (s *Store) Stats() (Stats, error) {
	var st Stats
	err := s.view(func(tx *bolt.Tx) error {
		st.Chunks = tx.Bucket(bucketChunks).Stats().KeyN
		return tx.Bucket(bucketBodies).ForEach(func(_, v []byte) error {
			rec, err := decodeBodyRecordView(v, false) // the counts only: no copy of the parse result
			if err != nil {
				return err
			}
			st.Bodies++
			st.BodyRefs += rec.refs
			return nil
		})
	})
	return st, err
}
