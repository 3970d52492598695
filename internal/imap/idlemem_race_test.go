//go:build race

package imap

// maxIdleConnMemory is larger under the race detector, whose goroutine stacks and allocations are larger: about
// 35 KiB measured, 46 KiB with the buffers and the second goroutine an idle connection held before.
const maxIdleConnMemory = 40 << 10
