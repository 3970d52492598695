package config

import (
	"encoding"
	"fmt"
	"strconv"
	"strings"
	"time"
)

const day = 24 * time.Hour

// Duration is a time.Duration written like "10m", "4h", "90s" or, for the
// queue's retry horizons, "5d" and "1d12h" (a day is 24 hours).
type Duration time.Duration

var (
	_ encoding.TextUnmarshaler = (*Duration)(nil)
	_ encoding.TextMarshaler   = Duration(0)
)

// ParseDuration parses time.ParseDuration's syntax with an optional leading
// whole number of days.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(t, 'd'); i >= 0 {
		n, err := strconv.ParseUint(t[:i], 10, 16)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: days must be a whole number before \"d\"", s)
		}
		days, t = time.Duration(n)*day, t[i+1:]
		if t == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want a number and a unit, e.g. 10m, 4h, 5d", s)
	}
	if days > 0 && d < 0 {
		return 0, fmt.Errorf("invalid duration %q: mixed signs", s)
	}
	return days + d, nil
}

// String formats d so that ParseDuration reads it back: "5d", "1d12h",
// "10m", "1h30m".
func (d Duration) String() string {
	td := time.Duration(d)
	if td < 0 {
		return td.String()
	}
	var out string
	if days := td / day; days > 0 {
		out, td = strconv.FormatInt(int64(days), 10)+"d", td%day
		if td == 0 {
			return out
		}
	}
	// time.Duration prints "10m0s" and "1h0m0s": drop the zero tails.
	rest := td.String()
	if strings.HasSuffix(rest, "m0s") {
		rest = rest[:len(rest)-2]
	}
	if strings.HasSuffix(rest, "h0m") {
		rest = rest[:len(rest)-2]
	}
	return out + rest
}

// UnmarshalText implements encoding.TextUnmarshaler for TOML.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := ParseDuration(string(text))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
