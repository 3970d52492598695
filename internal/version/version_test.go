package version

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestString(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261207095044-de299a174e5c+dirty"},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "de299a174e5c9368288b2475eff33a72878385d6"},
			{Key: "vcs.time", Value: "2026-12-07T09:50:44Z"}, {Key: "vcs.modified", Value: "true"}}}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"from a checkout with changes", stamped,
			"mailserver v0.0.0-20261207095044-de299a174e5c+dirty (commit de299a174e5c, 2026-12-07, uncommitted changes; go1.26.8 linux/amd64)"},
		{"a release", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}},
			"mailserver v1.2.0 (go1.26.8 linux/amd64)"},
		{"nothing recorded", &debug.BuildInfo{GoVersion: "go1.26.8"}, "mailserver (devel) (go1.26.8 linux/amd64)"},
		{"no build information", nil, "mailserver (devel) (" + runtime.Version() + " linux/amd64)"},
	}
	for _, tt := range tests {
		if got := fromBuildInfo(tt.bi, "linux/amd64").String(); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
	if info := fromBuildInfo(stamped, "linux/amd64"); !info.Modified || info.Time.IsZero() || info.Revision == "" {
		t.Errorf("fields of a stamped build: %+v", info)
	}
}
