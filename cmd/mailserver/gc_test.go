package main

import "testing"

func TestGCSettings(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	const gib = 1 << 30
	for _, c := range []struct {
		name     string
		vars     map[string]string
		physical uint64
		percent  int
		limit    int64
	}{
		{"defaults on 24 GiB", nil, 24 * gib, serveGCPercent, 6 * gib},
		{"small machine: the floor", nil, 512 << 20, serveGCPercent, minServeMemoryLimit},
		{"memory unknown: no limit", nil, 0, serveGCPercent, -1},
		{"GOGC set", map[string]string{"GOGC": "150"}, 8 * gib, -1, 2 * gib},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "3GiB"}, 8 * gib, serveGCPercent, -1},
	} {
		percent, limit := gcSettings(env(c.vars), c.physical)
		if percent != c.percent || limit != c.limit {
			t.Errorf("%s: percent %d limit %d, want %d %d", c.name, percent, limit, c.percent, c.limit)
		}
	}
}
