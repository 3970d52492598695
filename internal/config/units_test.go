package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size
	}{
		{"0", 0},
		{"1048576", 1048576},
		{"100B", 100},
		{"512KB", 512 << 10},
		{"512kb", 512 << 10},
		{"512K", 512 << 10},
		{"50MB", 50 << 20},
		{"10 MiB", 10 << 20},
		{" 10 mib ", 10 << 20},
		{"1GB", 1 << 30},
		{"1GiB", 1 << 30},
		{"1.5GB", 3 << 29},
		{"2TB", 2 << 40},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseSizeErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "want a number"},
		{"MB", "want a number"},
		{"lots", "unknown unit"},
		{"-5MB", "unknown unit"},
		{"5XB", `unknown unit "XB"`},
		{"1.2.3MB", "want a number"},
		{"99999999999999999999", "too large"},
		{"9000000TB", "too large"},
		{"9000000.5TB", "too large"},
	}
	for _, tt := range tests {
		_, err := ParseSize(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSize(%q) error = %v, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestSizeString(t *testing.T) {
	tests := []struct {
		in   Size
		want string
	}{
		{0, "0B"}, {100, "100B"}, {1536, "1536B"}, {KB, "1KB"}, {50 * MB, "50MB"},
		{1536 * KB, "1536KB"}, {GB, "1GB"}, {3 * TB, "3TB"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(tt.in), got, tt.want)
		}
		if back, err := ParseSize(tt.want); err != nil || back != tt.in {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.want, back, err, tt.in)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"10m", 10 * time.Minute},
		{"4h", 4 * time.Hour},
		{"90s", 90 * time.Second},
		{"1h30m", 90 * time.Minute},
		{"5d", 5 * day},
		{"1d12h", 36 * time.Hour},
		{" 2d ", 2 * day},
		{"0s", 0},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "10", "ten minutes", "1.5d", "d", "5d3", "-1d", "1d-5h"} {
		if d, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want error", bad, d)
		}
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"}, {10 * time.Minute, "10m"}, {time.Hour, "1h"}, {90 * time.Minute, "1h30m"},
		{90 * time.Second, "1m30s"}, {5 * day, "5d"}, {36 * time.Hour, "1d12h"}, {day + time.Second, "1d1s"},
		{1500 * time.Millisecond, "1.5s"}, {-time.Minute, "-1m0s"},
	}
	for _, tt := range tests {
		if got := Duration(tt.in).String(); got != tt.want {
			t.Errorf("Duration(%v).String() = %q, want %q", tt.in, got, tt.want)
		}
		if back, err := ParseDuration(tt.want); err != nil || back != tt.in {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.want, back, err, tt.in)
		}
	}
}
