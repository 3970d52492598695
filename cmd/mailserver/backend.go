package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/config"
	"mailserver/internal/ctl"
	"mailserver/internal/store"
)

// lockTimeout bounds the wait for the store's file lock when no server answers on the control socket.
const lockTimeout = 500 * time.Millisecond

// withAdmin runs fn with the backend that runs administration operations (ctl.Call) for the configured server:
// its control socket when it runs, the data file directly when it does not.
func (a *app) withAdmin(fn func(ctl.Backend) error) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	api, closeAPI, err := openAdmin(cfg, osUser())
	if err != nil {
		return err
	}
	defer closeAPI()
	return fn(api)
}

// osUser names the person running the command, for the audit trail: the user who ran sudo when the command runs
// under sudo (as the server's own user, e.g. with the server stopped), otherwise the current user, who may be an
// administrator in the service's group; "" if unknown.
func osUser() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// openAdmin connects to the running server's control socket if one answers, and otherwise opens the store
// itself; either way the operations act for osUser. A store locked by a server whose socket does not answer is an
// error that says so.
func openAdmin(cfg config.Config, osUser string) (ctl.Backend, func(), error) {
	sock := cfg.SocketPath()
	client, dialErr := ctl.Dial(sock)
	if dialErr == nil {
		return client.As(osUser), func() { client.Close() }, nil
	}
	if errors.Is(dialErr, fs.ErrPermission) {
		return nil, nil, fmt.Errorf("control socket %s: permission denied: run this command as the user the server runs as", sock)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("data folder: %w", err)
	}
	// Only a serving process indexes mail in the background; reindex does its work in the foreground.
	st, err := store.Open(cfg.DBPath(), store.Options{LockTimeout: lockTimeout, NoIndexer: true})
	if err != nil {
		if fileLocked(cfg.DBPath()) {
			return nil, nil, fmt.Errorf("the server seems to be running but its control socket at %s does not answer", sock)
		}
		return nil, nil, err
	}
	svc := admin.New(st, admin.WithSieve(admin.SieveSettingsFor(cfg.Sieve))) // the server's limits and forwarding policy
	return ctl.Direct{Service: svc.As(osUser)}, func() { st.Close() }, nil
}
