//go:build !race

package imap

// maxIdleConnMemory bounds the live heap and stack of one idle TLS connection, the server's side and the test
// client's together: about 21 KiB measured (the server's goroutine stack and TLS state, the client's TLS state),
// with room for other Go versions. With the read buffer, the write buffer and the second goroutine it held before,
// it came to about 34 KiB.
const maxIdleConnMemory = 26 << 10
