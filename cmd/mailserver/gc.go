package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
)

// The garbage collector's settings for serve. A delivery allocates a few times its message's size (the parse, the
// folded search text, its compressed form) and keeps none of it, while the live heap stays small (tens of MiB), so
// Go's default (collect when the heap has grown by 100%) collects dozens of times a second under load (6,000
// deliveries at 32 connections: 222 collections in 4.4 s at 100, 45 in 4.0 s at 400). Measured with
// cmd/mailbench smtp at 32 connections (20 KiB messages, client and server on two cores): 1,111 msgs/s and 1.14–1.20
// ms of server CPU per message at 100, 1,401–1,428 and 0.92–0.95 at 200, 1,421 and 0.90 at 400, 1,501 and 0.84 at
// 800. 400 takes most of the gain; the soft memory limit keeps a large live heap (an indexer catching up on a big
// store) from growing five times over on a small machine: near it the collector works harder instead.
const (
	serveGCPercent = 400
	// The soft limit is a quarter of the machine's memory, never under minServeMemoryLimit.
	minServeMemoryLimit = 256 << 20
)

// gcSettings are the collector's settings for a server on a machine with physical bytes of memory (0: unknown).
// GOGC or GOMEMLIMIT in the environment win: the runtime has read them already, and an operator who set them meant it.
func gcSettings(getenv func(string) string, physical uint64) (percent int, limit int64) {
	percent, limit = -1, -1 // -1: leave as the runtime has it
	if getenv("GOGC") == "" {
		percent = serveGCPercent
	}
	if getenv("GOMEMLIMIT") == "" && physical > 0 {
		limit = max(int64(physical/4), minServeMemoryLimit)
	}
	return percent, limit
}

// tuneGC applies gcSettings to this process and says what the collector runs with.
func tuneGC(logger *slog.Logger) {
	percent, limit := gcSettings(os.Getenv, physicalMemory())
	gogc := os.Getenv("GOGC")
	if percent >= 0 {
		debug.SetGCPercent(percent)
		gogc = strconv.Itoa(percent)
	}
	if limit >= 0 {
		debug.SetMemoryLimit(limit)
	}
	logger.Info("garbage collector", "gogc", gogc, "memory_limit_bytes", debug.SetMemoryLimit(-1),
		"from_environment", percent < 0 || limit < 0)
}
