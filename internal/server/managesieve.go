package server

import (
	"errors"
	"fmt"

	"mailserver/internal/admin"
	"mailserver/internal/managesieve"
	"mailserver/internal/sieve"
	"mailserver/internal/store"
)

// newManageSieve builds the ManageSieve server of users' filter scripts: the store holds them, and a script is
// accepted only if it compiles under this server's limits and forwarding policy (admin.CompileSieve), the
// same check as `mailserver sieve put`.
func (s *Server) newManageSieve(auth managesieve.Authenticator) *managesieve.Server {
	limits := admin.SieveSettingsFor(s.cfg.Sieve).Limits
	return managesieve.New(managesieve.Options{
		Auth:    auth,
		Scripts: storeScripts{st: s.store, limits: limits},
		Check: func(acct store.Account, src []byte) error {
			_, err := s.admin.CompileSieve(acct, src)
			return err
		},
		TLSConfig:         s.tls,
		AllowInsecureAuth: s.cfg.Sieve.AllowInsecureAuth,
		Limits:            managesieve.Limits{MaxScriptBytes: int64(limits.MaxScriptBytes), MaxScripts: limits.MaxScripts},
		Extensions:        sieve.Capabilities(),
		MaxRedirects:      sieve.DefaultMaxRedirects,
		Hostname:          s.cfg.Hostname,
		Logger:            s.log.With("component", "managesieve"),
	})
}

// storeScripts is the store as ManageSieve's script storage, its errors turned into ManageSieve's.
type storeScripts struct {
	st     *store.Store
	limits store.SieveLimits
}

var _ managesieve.Scripts = storeScripts{}

func (b storeScripts) List(accountID uint64) ([]managesieve.ScriptInfo, error) {
	scripts, err := b.st.SieveScripts(accountID)
	if err != nil {
		return nil, scriptErr(err)
	}
	out := make([]managesieve.ScriptInfo, 0, len(scripts))
	for _, sc := range scripts {
		out = append(out, managesieve.ScriptInfo{Name: sc.Name, Active: sc.Active})
	}
	return out, nil
}

func (b storeScripts) Get(accountID uint64, name string) ([]byte, error) {
	src, err := b.st.SieveScript(accountID, name)
	return src, scriptErr(err)
}

func (b storeScripts) Put(accountID uint64, name string, src []byte) error {
	return scriptErr(b.st.PutSieveScript(accountID, name, src, b.limits))
}

func (b storeScripts) HaveSpace(accountID uint64, name string, size int) error {
	return scriptErr(b.st.SieveHaveSpace(accountID, name, size, b.limits))
}

func (b storeScripts) Activate(accountID uint64, name string) error {
	return scriptErr(b.st.ActivateSieveScript(accountID, name))
}

func (b storeScripts) Delete(accountID uint64, name string) error {
	return scriptErr(b.st.DeleteSieveScript(accountID, name))
}

func (b storeScripts) Rename(accountID uint64, from, to string) error {
	return scriptErr(b.st.RenameSieveScript(accountID, from, to))
}

// scriptErr wraps the store's script errors into the ManageSieve kinds that carry response codes.
func scriptErr(err error) error {
	kinds := []struct{ store, ms error }{
		{store.ErrSieveTooMany, managesieve.ErrQuotaMaxScripts},
		{store.ErrSieveTooLarge, managesieve.ErrQuotaMaxSize},
		{store.ErrSieveQuota, managesieve.ErrQuota},
		{store.ErrSieveActive, managesieve.ErrActive},
		{store.ErrSieveName, managesieve.ErrName},
		{store.ErrExists, managesieve.ErrExists},
		{store.ErrNotFound, managesieve.ErrNonexistent},
	}
	for _, k := range kinds {
		if err != nil && errors.Is(err, k.store) {
			return fmt.Errorf("%w: %w", k.ms, err)
		}
	}
	return err
}
