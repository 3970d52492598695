// Package version says which build of mailserver this is, from what the Go toolchain records in the binary
// (runtime/debug.ReadBuildInfo): the module's version, the commit it was built from when the build could tell, and
// the Go version. Nothing is set by hand, so a binary cannot claim a version it is not.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"time"
)

// Info describes a build.
type Info struct {
	// Version is the main module's version: a release tag, a pseudo-version made from the commit
	// (v0.0.0-20261207095044-de299a174e5c, "+dirty" with uncommitted changes), or "(devel)" when the build did not
	// record one (built outside a git checkout, or with -buildvcs=false).
	Version  string    `json:"version"`
	Revision string    `json:"revision,omitempty"` // the commit built (vcs.revision), when recorded
	Time     time.Time `json:"time,omitzero"`      // that commit's time (vcs.time)
	Modified bool      `json:"modified,omitempty"` // the checkout had uncommitted changes (vcs.modified)
	Go       string    `json:"go"`                 // the toolchain, e.g. go1.26.8
	Platform string    `json:"platform"`           // GOOS/GOARCH
}

// Read describes the running binary.
func Read() Info {
	bi, _ := debug.ReadBuildInfo() // nil outside a module build: only Go and the platform are known then
	return fromBuildInfo(bi, runtime.GOOS+"/"+runtime.GOARCH)
}

// fromBuildInfo reads what bi records; bi may be nil.
func fromBuildInfo(bi *debug.BuildInfo, platform string) Info {
	info := Info{Version: "(devel)", Go: runtime.Version(), Platform: platform}
	if bi == nil {
		return info
	}
	if bi.Main.Version != "" {
		info.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		info.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time, _ = time.Parse(time.RFC3339, s.Value) // left zero if the toolchain ever writes another form
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String is one line: "mailserver v1.2.0 (commit 3f9c2b1a7d44, 2026-12-07; go1.26.8 linux/amd64)", with
// ", uncommitted changes" after the commit's date when the checkout had some.
func (i Info) String() string {
	build := i.Go + " " + i.Platform
	if i.Revision == "" {
		return fmt.Sprintf("mailserver %s (%s)", i.Version, build)
	}
	commit := "commit " + shortRevision(i.Revision)
	if !i.Time.IsZero() {
		commit += ", " + i.Time.UTC().Format(time.DateOnly)
	}
	if i.Modified {
		commit += ", uncommitted changes"
	}
	return fmt.Sprintf("mailserver %s (%s; %s)", i.Version, commit, build)
}

// shortRevision is the first 12 hex digits of a commit, as Go's pseudo-versions write it.
func shortRevision(rev string) string { return rev[:min(len(rev), 12)] }
