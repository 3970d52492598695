package auth

import (
	"errors"
	"net"

	"mailserver/internal/metrics"
	"mailserver/internal/store"
)

// Counted is the Authenticator as one protocol uses it: each login's outcome is counted under the protocol's name.
type Counted struct {
	a        *Authenticator
	metrics  *metrics.Metrics
	protocol metrics.Protocol
}

// ForProtocol returns a, counting each login's outcome in m under protocol (m may be nil: nothing is counted).
func (a *Authenticator) ForProtocol(m *metrics.Metrics, protocol metrics.Protocol) Counted {
	return Counted{a: a, metrics: m, protocol: protocol}
}

// Authenticate is Authenticator.Authenticate, counted.
func (c Counted) Authenticate(remote net.Addr, username, password string) (store.Account, error) {
	acct, err := c.a.Authenticate(remote, username, password)
	c.metrics.Login(c.protocol, loginResult(err))
	return acct, err
}

// loginResult classifies a login's outcome for monitoring.
func loginResult(err error) metrics.LoginResult {
	var te *ThrottledError
	switch {
	case err == nil:
		return metrics.LoginSuccess
	case errors.As(err, &te) && te.Locked:
		return metrics.LoginLocked
	case errors.Is(err, ErrTooManyAttempts), errors.Is(err, ErrBusy):
		return metrics.LoginThrottled
	default:
		return metrics.LoginFailure
	}
}
