//go:build unix

package ctl

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// umaskMu serialises Listen's umask change within this process.
var umaskMu sync.Mutex

// SocketMode lets the server's user and the members of its group connect: administrators in the service's group
// run the CLI against the running server without becoming its user. The data folder's mode decides whether the
// group reaches the socket at all: 0700, as the server creates it, keeps it to the user; 0710 lets the group in.
const SocketMode = 0o660

// Listen creates the control socket at path with SocketMode. A socket left behind by a server that died is
// replaced; a socket some live server answers on, or a path that is not a socket, is refused. Closing the
// listener removes the socket file.
func Listen(path string) (net.Listener, error) {
	if err := clearStale(path); err != nil {
		return nil, err
	}
	// The socket is created with the process umask: narrow it while binding so that no other user can connect
	// even for an instant, then set the mode explicitly. Only group and other bits are cleared, so files other
	// goroutines create meanwhile stay usable by this user.
	umaskMu.Lock()
	old := syscall.Umask(0o077)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	umaskMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, SocketMode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return ln, nil
}

// clearStale removes a socket at path that nobody answers on.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("control socket %s: the path exists and is not a socket: move it away", path)
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	switch {
	case err == nil:
		conn.Close()
		return fmt.Errorf("control socket %s: another server is answering on it: stop that server first", path)
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, fs.ErrNotExist):
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("control socket %s: remove stale socket: %w", path, err)
		}
		return nil
	}
	return fmt.Errorf("control socket %s: cannot tell whether another server uses it: %w", path, err)
}
