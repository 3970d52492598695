package auth

import (
	"errors"

	"github.com/emersion/go-sasl"
)

// LoginAuthenticator checks a username and password for the LOGIN
// mechanism; its error is passed to the protocol server unchanged, so SMTP
// callers return smtp.ErrAuthFailed and IMAP callers an *imap.Error.
type LoginAuthenticator func(username, password string) error

// The LOGIN mechanism's challenges (draft-murchison-sasl-login section 2).
// go-smtp and go-imap base64-encode them.
var (
	usernameChallenge = []byte("Username:")
	passwordChallenge = []byte("Password:")
)

var errEmptyUsername = errors.New("sasl: empty username")

var _ sasl.Server = (*loginServer)(nil)

// loginServer is one LOGIN exchange: username, then password.
type loginServer struct {
	authenticate LoginAuthenticator
	username     string
	step         int // 0 start, 1 awaiting username, 2 awaiting password, 3 done
}

// NewLoginServer returns a server for the obsolete LOGIN mechanism, which
// go-sasl lacks and Outlook still uses. An initial response (AUTH LOGIN
// <base64 username>) is taken as the username.
func NewLoginServer(authenticate LoginAuthenticator) sasl.Server {
	return &loginServer{authenticate: authenticate}
}

// Next follows go-sasl's contract: response is nil only on the first call
// when the client sent no initial response.
func (s *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch s.step {
	case 0:
		// An empty initial response ("=") carries no username either.
		if len(response) == 0 {
			s.step = 1
			return usernameChallenge, false, nil
		}
		return s.takeUsername(response)
	case 1:
		return s.takeUsername(response)
	case 2:
		s.step = 3
		return nil, true, s.authenticate(s.username, string(response))
	default:
		return nil, false, sasl.ErrUnexpectedClientResponse
	}
}

func (s *loginServer) takeUsername(response []byte) ([]byte, bool, error) {
	if len(response) == 0 {
		s.step = 3
		return nil, false, errEmptyUsername
	}
	s.username, s.step = string(response), 2
	return passwordChallenge, false, nil
}
