//go:build !race

package imap

// maxIdleConnMemory bounds the live heap and stack of one idle TLS connection, the server's side and the test
// client's together: 16-21 KiB measured (the server's goroutine stack and TLS state, the client's TLS state; the
// more when the process has no stacks freed earlier to reuse), with room for other Go versions. With the read
// buffer, the write buffer and the second goroutine it held before, it came to about 34 KiB.
const maxIdleConnMemory = 26 << 10
