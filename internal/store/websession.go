package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Webmail sessions, server-side: the browser holds only a random token in a cookie; the store keeps, under the
// token's SHA-256 (so that a copy of the file or a backup gives no usable cookie), the account, when the session
// began and was last seen, and its CSRF token. A session idle longer than the caller's timeout is deleted when
// met and by PruneWebSessions. Removing an account, disabling it or changing its password ends its sessions.
var bucketWebSessions = []byte("web_sessions") // SHA-256(token) → web session record

// webSessionTouchEvery bounds how often a request writes its session's last-seen time: reading a page must not
// cost a commit and an fsync each time.
const webSessionTouchEvery = time.Minute

// WebSession is one logged-in browser.
type WebSession struct {
	AccountID uint64
	Created   time.Time
	LastSeen  time.Time
	CSRF      string // the token every POST of the session must carry
}

func webSessionKey(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// record: version 1, account id, created and last seen (Unix nanoseconds), the CSRF token.
func encodeWebSession(ws WebSession) []byte {
	b := []byte{1}
	b = binary.BigEndian.AppendUint64(b, ws.AccountID)
	b = binary.BigEndian.AppendUint64(b, uint64(ws.Created.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(ws.LastSeen.UnixNano()))
	return append(b, ws.CSRF...)
}

func decodeWebSession(v []byte) (WebSession, error) {
	if len(v) < 25 || v[0] != 1 {
		return WebSession{}, errors.New("web session record: unknown version or truncated")
	}
	return WebSession{
		AccountID: binary.BigEndian.Uint64(v[1:]),
		Created:   time.Unix(0, int64(binary.BigEndian.Uint64(v[9:]))),
		LastSeen:  time.Unix(0, int64(binary.BigEndian.Uint64(v[17:]))),
		CSRF:      string(v[25:]),
	}, nil
}

// AddWebSession stores a new session under token for the account, created and last seen now.
func (s *Store) AddWebSession(token string, accountID uint64, csrf string) (WebSession, error) {
	now := s.now()
	ws := WebSession{AccountID: accountID, Created: now, LastSeen: now, CSRF: csrf}
	err := s.update(func(tx *bolt.Tx, _ *changes) error {
		if tx.Bucket(bucketAcctIDs).Get(u64key(accountID)) == nil {
			return fmt.Errorf("web session: account #%d: %w", accountID, ErrAccountNotFound)
		}
		return tx.Bucket(bucketWebSessions).Put(webSessionKey(token), encodeWebSession(ws))
	})
	return ws, err
}

// LookupWebSession returns the session of token if it has been seen within idle, recording that it is seen now
// (at most once a minute). An unknown token and an expired session (which it deletes) are ErrNotFound.
func (s *Store) LookupWebSession(token string, idle time.Duration) (WebSession, error) {
	key := webSessionKey(token)
	now := s.now()
	var ws WebSession
	var found bool
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketWebSessions).Get(key)
		if v == nil {
			return nil
		}
		var err error
		ws, err = decodeWebSession(v)
		found = err == nil
		return err
	})
	switch {
	case err != nil:
		return WebSession{}, err
	case !found:
		return WebSession{}, fmt.Errorf("web session: %w", ErrNotFound)
	case now.Sub(ws.LastSeen) > idle:
		if err := s.RemoveWebSession(token); err != nil {
			return WebSession{}, err
		}
		return WebSession{}, fmt.Errorf("web session expired: %w", ErrNotFound)
	case now.Sub(ws.LastSeen) >= webSessionTouchEvery:
		ws.LastSeen = now
		err = s.update(func(tx *bolt.Tx, _ *changes) error {
			b := tx.Bucket(bucketWebSessions)
			if b.Get(key) == nil {
				return fmt.Errorf("web session: %w", ErrNotFound) // logged out meanwhile
			}
			return b.Put(key, encodeWebSession(ws))
		})
		if err != nil {
			return WebSession{}, err
		}
	}
	return ws, nil
}

// RemoveWebSession ends the session of token (logout); an unknown token is no error.
func (s *Store) RemoveWebSession(token string) error {
	return s.update(func(tx *bolt.Tx, _ *changes) error {
		return tx.Bucket(bucketWebSessions).Delete(webSessionKey(token))
	})
}

// PruneWebSessions deletes the sessions idle longer than idle and returns how many.
func (s *Store) PruneWebSessions(idle time.Duration) (int, error) {
	cutoff := s.now().Add(-idle)
	n := 0
	err := s.update(func(tx *bolt.Tx, _ *changes) error {
		n = 0 // the function may run again if the commit is retried
		return deleteWebSessionsWhere(tx, func(ws WebSession) bool { return ws.LastSeen.Before(cutoff) }, &n)
	})
	return n, err
}

// deleteWebSessionsOf ends every session of an account (removed, disabled, or its password changed).
func deleteWebSessionsOf(tx *bolt.Tx, accountID uint64) error {
	var n int
	return deleteWebSessionsWhere(tx, func(ws WebSession) bool { return ws.AccountID == accountID }, &n)
}

// deleteWebSessionsWhere collects the keys first: bbolt's cursor must not delete while it iterates. Undecodable
// records go too: they can open no session.
func deleteWebSessionsWhere(tx *bolt.Tx, match func(WebSession) bool, n *int) error {
	b := tx.Bucket(bucketWebSessions)
	var doomed [][]byte
	err := b.ForEach(func(k, v []byte) error {
		ws, err := decodeWebSession(v)
		if err != nil || match(ws) {
			doomed = append(doomed, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("delete web session: %w", err)
		}
	}
	*n += len(doomed)
	return nil
}
