package auth

import (
	"errors"
	"io"
	"net"
	"net/textproto"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

var errBadPassword = errors.New("bad password")

func checkLogin(username, password string) error {
	if username == "an@example.vn" && password == "Mật khẩu 2024" {
		return nil
	}
	return errBadPassword
}

func TestLoginServerNext(t *testing.T) {
	type step struct {
		response      []byte
		wantChallenge string
		wantDone      bool
		wantErr       error
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"no initial response", []step{
			{nil, "Username:", false, nil},
			{[]byte("an@example.vn"), "Password:", false, nil},
			{[]byte("Mật khẩu 2024"), "", true, nil},
		}},
		{"empty initial response", []step{
			{[]byte{}, "Username:", false, nil},
			{[]byte("an@example.vn"), "Password:", false, nil},
			{[]byte("Mật khẩu 2024"), "", true, nil},
		}},
		{"username as initial response", []step{
			{[]byte("an@example.vn"), "Password:", false, nil},
			{[]byte("Mật khẩu 2024"), "", true, nil},
		}},
		{"wrong password", []step{
			{[]byte("an@example.vn"), "Password:", false, nil},
			{[]byte("guess"), "", true, errBadPassword},
		}},
		{"empty username", []step{
			{nil, "Username:", false, nil},
			{[]byte{}, "", false, errEmptyUsername},
		}},
		{"extra response", []step{
			{[]byte("an@example.vn"), "Password:", false, nil},
			{[]byte("Mật khẩu 2024"), "", true, nil},
			{[]byte("more"), "", false, sasl.ErrUnexpectedClientResponse},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewLoginServer(checkLogin)
			for i, st := range tt.steps {
				challenge, done, err := s.Next(st.response)
				if string(challenge) != st.wantChallenge || done != st.wantDone || !errors.Is(err, st.wantErr) {
					t.Fatalf("step %d: Next(%q) = %q, %v, %v; want %q, %v, %v",
						i, st.response, challenge, done, err, st.wantChallenge, st.wantDone, st.wantErr)
				}
			}
		})
	}
}

// loginClientNoIR answers like Outlook: no initial response, then the
// username and password in turn.
type loginClientNoIR struct{ username, password string }

func (c loginClientNoIR) Start() (string, []byte, error) { return sasl.Login, nil, nil }

func (c loginClientNoIR) Next(challenge []byte) ([]byte, error) {
	switch string(challenge) {
	case "Username:":
		return []byte(c.username), nil
	case "Password:":
		return []byte(c.password), nil
	}
	return nil, sasl.ErrUnexpectedServerChallenge
}

type loginBackend struct{}

func (loginBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return loginSession{}, nil }

type loginSession struct{}

var _ smtp.AuthSession = loginSession{}

func (loginSession) AuthMechanisms() []string { return []string{sasl.Login} }
func (loginSession) Auth(string) (sasl.Server, error) {
	return NewLoginServer(func(u, p string) error {
		if checkLogin(u, p) != nil {
			return smtp.ErrAuthFailed // unwrapped: go-smtp type-asserts it
		}
		return nil
	}), nil
}
func (loginSession) Reset()                               {}
func (loginSession) Logout() error                        { return nil }
func (loginSession) Mail(string, *smtp.MailOptions) error { return nil }
func (loginSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (loginSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }

func startSMTP(t *testing.T) string {
	t.Helper()
	s := smtp.NewServer(loginBackend{})
	s.Domain = "localhost"
	s.AllowInsecureAuth = true // loopback test without TLS
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String()
}

func TestLoginWithSMTPClient(t *testing.T) {
	addr := startSMTP(t)
	for _, tt := range []struct {
		name   string
		client sasl.Client
		ok     bool
	}{
		{"initial response", sasl.NewLoginClient("an@example.vn", "Mật khẩu 2024"), true},
		{"no initial response", loginClientNoIR{"an@example.vn", "Mật khẩu 2024"}, true},
		{"wrong password", sasl.NewLoginClient("an@example.vn", "wrong"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := smtp.Dial(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = c.Auth(tt.client)
			if tt.ok && err != nil {
				t.Errorf("Auth = %v", err)
			}
			var smtpErr *smtp.SMTPError
			if !tt.ok && (!errors.As(err, &smtpErr) || smtpErr.Code != 535) {
				t.Errorf("Auth = %v, want 535", err)
			}
		})
	}
}

// The exact dialog Outlook sees: base64 "Username:" and "Password:".
func TestLoginDialog(t *testing.T) {
	conn, err := textproto.Dial("tcp", startSMTP(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	expect := func(code int, want string) {
		t.Helper()
		_, msg, err := conn.ReadResponse(code)
		if err != nil || (want != "" && msg != want) {
			t.Fatalf("got %q, %v; want %d %s", msg, err, code, want)
		}
	}
	expect(220, "")
	conn.PrintfLine("EHLO client.example.vn")
	expect(250, "")
	conn.PrintfLine("AUTH LOGIN")
	expect(334, "VXNlcm5hbWU6")
	conn.PrintfLine("YW5AZXhhbXBsZS52bg==") // an@example.vn
	expect(334, "UGFzc3dvcmQ6")
	conn.PrintfLine("TeG6rXQga2jhuql1IDIwMjQ=") // Mật khẩu 2024
	expect(235, "")
}
