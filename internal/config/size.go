package config

import (
	"encoding"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Size is a byte count written like "50MB", "512KB", "1GB", "10 MiB" or
// "1048576". Units are powers of 1024 whether written KB or KiB: people
// write "50MB" for mail limits and mean what mail clients show, and one
// meaning avoids a 5% surprise between the two spellings.
type Size int64

var (
	_ encoding.TextUnmarshaler = (*Size)(nil)
	_ encoding.TextMarshaler   = Size(0)
)

// Size units.
const (
	B  Size = 1
	KB Size = 1 << 10
	MB Size = 1 << 20
	GB Size = 1 << 30
	TB Size = 1 << 40
)

var sizeUnits = map[string]Size{
	"": B, "B": B,
	"K": KB, "KB": KB, "KIB": KB,
	"M": MB, "MB": MB, "MIB": MB,
	"G": GB, "GB": GB, "GIB": GB,
	"T": TB, "TB": TB, "TIB": TB,
}

// ParseSize parses a size such as "50MB", "1.5GB" or "1048576" (bytes).
// Units are case-insensitive and 1024-based; a fractional size is rounded
// down to whole bytes.
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	end := 0
	for end < len(t) && (t[end] >= '0' && t[end] <= '9' || t[end] == '.') {
		end++
	}
	num, unitName := t[:end], strings.ToUpper(strings.TrimSpace(t[end:]))
	unit, ok := sizeUnits[unitName]
	if !ok {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (use B, KB, MB, GB or TB)", s, t[end:])
	}
	if num == "" || strings.Count(num, ".") > 1 || num == "." {
		return 0, fmt.Errorf("invalid size %q: want a number and a unit, e.g. 50MB", s)
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n > math.MaxInt64/int64(unit) {
			return 0, fmt.Errorf("invalid size %q: too large", s)
		}
		return Size(n) * unit, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: %w", s, err)
	}
	bytes := f * float64(unit)
	if bytes >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return Size(bytes), nil
}

// String formats s in the largest unit that divides it exactly, so that
// ParseSize(s.String()) == s.
func (s Size) String() string {
	for _, u := range []struct {
		name string
		size Size
	}{{"TB", TB}, {"GB", GB}, {"MB", MB}, {"KB", KB}} {
		if s != 0 && s%u.size == 0 {
			return strconv.FormatInt(int64(s/u.size), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// UnmarshalText implements encoding.TextUnmarshaler for TOML and flags.
func (s *Size) UnmarshalText(text []byte) error {
	v, err := ParseSize(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
