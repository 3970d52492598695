//go:build !linux

package main

// physicalMemory is 0 (unknown) outside Linux: the server then sets no memory limit of its own.
func physicalMemory() uint64 { return 0 }
