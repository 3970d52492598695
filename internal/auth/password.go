// Package auth holds the security rules shared by SMTP, IMAP and the CLI:
// password hashing and strength, login throttling, the SASL LOGIN
// mechanism, sender-address ownership and the login check against the store.
package auth

import (
	"golang.org/x/text/unicode/norm"

	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Hasher holds argon2id cost parameters. Hashes record their parameters, so changing them later only affects new
// hashes, and old ones keep verifying with theirs; NeedsRehash tells when a stored hash was made with other
// parameters than these, so that a login can rehash it (Authenticator does).
type Hasher struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32
	Threads   uint8
}

// DefaultHasher returns the production parameters: m=19 MiB, t=2, p=1, the first of the equivalent settings the
// OWASP Password Storage Cheat Sheet lists (19 MiB/t=2, 46 MiB/t=1, 12 MiB/t=3, 9 MiB/t=4, 7 MiB/t=5, all p=1).
//
// RFC 9106 section 4 recommends m=2 GiB, t=1, p=4, or m=64 MiB, t=3, p=4 where memory is short, for a machine that
// hashes now and then. A mail server checks a password on every connection a client opens and must bound the memory
// of a morning when a whole province logs in at once (VerifyMemoryBudget), so it follows the RFC's own procedure
// instead: fix the time a check may take (here at most 100 ms, one core) and the memory per check, then the passes.
// Measured on the 2-core reference machine: 19 MiB/t=2 20 ms, 12 MiB/t=3 17 ms, 46 MiB/t=1 28 ms, the former
// 64 MiB/t=2/p=2 143 ms. All the OWASP settings fit the time; 19 MiB/t=2 fits three checks in a 64 MiB budget
// where 46 MiB/t=1 fits one, and keeps a second pass over memory against time-memory trade-off attacks.
// One lane (p=1), as OWASP: lanes run on other cores, which a storm of logins keeps busy anyway.
func DefaultHasher() Hasher { return Hasher{Time: 2, MemoryKiB: 19 * 1024, Threads: 1} }

const (
	saltLen = 16
	keyLen  = 32
	// Bounds on parameters read from a stored hash, so that a corrupted
	// or hostile record cannot make Verify allocate gigabytes.
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
)

// ErrMalformedHash means a stored hash is not a PHC argon2id string.
var ErrMalformedHash = errors.New("auth: malformed password hash")

// Hash returns pw hashed with a fresh random salt in PHC string format:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func (h Hasher) Hash(pw string) (string, error) {
	if err := h.check(); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	rand.Read(salt) // never fails (crypto/rand, Go 1.24+)
	key := argon2.IDKey(passwordBytes(pw), salt, h.Time, h.MemoryKiB, h.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.MemoryKiB, h.Time, h.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

func (h Hasher) check() error {
	if h.Time < 1 || h.Time > maxTime || h.Threads < 1 || h.MemoryKiB < 8*uint32(h.Threads) || h.MemoryKiB > maxMemoryKiB {
		return fmt.Errorf("auth: invalid argon2id parameters m=%d,t=%d,p=%d", h.MemoryKiB, h.Time, h.Threads)
	}
	return nil
}

// NeedsRehash reports whether encoded was made with parameters other than
// h's (or is unreadable), so that a login can upgrade it.
func (h Hasher) NeedsRehash(encoded string) bool {
	stored, _, _, err := decodeHash(encoded)
	return err != nil || stored != h
}

// Verify reports whether pw matches encoded, using the parameters stored
// in encoded. The comparison is constant-time. An error means encoded is
// unusable, never that the password is wrong.
func Verify(encoded, pw string) (bool, error) {
	h, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey(passwordBytes(pw), salt, h.Time, h.MemoryKiB, h.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// passwordBytes is what gets hashed: the password in Unicode NFC, so "Mật khẩu" typed on a keyboard that sends
// decomposed letters (a phone, a legacy input method) matches the same password typed precomposed.
func passwordBytes(pw string) []byte { return []byte(norm.NFC.String(pw)) }

func decodeHash(encoded string) (h Hasher, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, nil, nil, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return h, nil, nil, fmt.Errorf("%w: unsupported version %q", ErrMalformedHash, parts[2])
	}
	var threads uint32
	_, err = fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.MemoryKiB, &h.Time, &threads)
	// Re-printing catches what Sscanf lets through: trailing text, "+2", "02".
	if err != nil || threads > 255 || fmt.Sprintf("m=%d,t=%d,p=%d", h.MemoryKiB, h.Time, threads) != parts[3] {
		return h, nil, nil, fmt.Errorf("%w: parameters %q", ErrMalformedHash, parts[3])
	}
	h.Threads = uint8(threads)
	if err := h.check(); err != nil {
		return h, nil, nil, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 128 {
		return h, nil, nil, fmt.Errorf("%w: bad salt or hash encoding", ErrMalformedHash)
	}
	return h, salt, key, nil
}
