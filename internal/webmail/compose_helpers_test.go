package webmail

import (
	"bytes"
	"html"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailserver/internal/auth"
	"mailserver/internal/delivery"
	"mailserver/internal/store"
)

// composeEnv is the webmail with writing on: a real store, the real Authenticator and a real Deliverer on that
// store (as internal/delivery's tests build one), the user lan and her colleague hung.
type composeEnv struct {
	*testEnv
	colleague store.Account
}

func newComposeEnv(t *testing.T, maxMessage int64) *composeEnv {
	t.Helper()
	st := openTestStore(t)
	env := &composeEnv{testEnv: &testEnv{st: st}}
	env.acct = addAccount(t, st, "lan@hanoi.gov.vn")
	env.colleague = addAccount(t, st, "hung@hanoi.gov.vn")
	authn := auth.NewAuthenticator(st, auth.NewThrottleWithPolicy(time.Now, auth.DefaultPolicy()))
	h, err := New(Options{Store: st, Auth: authn, Logger: slog.New(slog.DiscardHandler),
		Deliverer: delivery.New(st, "mail.hanoi.gov.vn", nil, nil), MaxMessageSize: maxMessage})
	if err != nil {
		t.Fatal(err)
	}
	env.srv = httptest.NewTLSServer(h)
	t.Cleanup(env.srv.Close)
	return env
}

// testFile is an upload of the compose form.
type testFile struct {
	name, ctype string
	data        []byte
}

// postForm posts the compose form as a browser does: multipart/form-data, the files under "attach".
func (e *testEnv) postForm(t *testing.T, c *http.Client, fields map[string][]string, files ...testFile) response {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, vs := range fields {
		for _, v := range vs {
			if err := mw.WriteField(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, f := range files {
		h := make(map[string][]string)
		// As browsers write it: the UTF-8 file name as is, quotes escaped (the HTML standard's multipart rules).
		h["Content-Disposition"] = []string{`form-data; name="attach"; filename="` +
			strings.ReplaceAll(f.name, `"`, "%22") + `"`}
		h["Content-Type"] = []string{f.ctype}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.data)
	}
	mw.Close()
	req, err := http.NewRequest("POST", e.srv.URL+"/mail/compose", &b)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return do(t, c, req)
}

var (
	inputField    = regexp.MustCompile(`<input type="(?:hidden|text)" name="(\w+)" value="([^"]*)"`)
	textareaField = regexp.MustCompile(`(?s)<textarea name="(\w+)"[^>]*>\n?(.*?)</textarea>`)
	selectedFrom  = regexp.MustCompile(`<option value="([^"]*)" selected>`)
	keptFile      = regexp.MustCompile(`name="keep" value="([^"]*)" checked`)
)

// formFields reads the compose form's fields as a browser would submit them untouched.
func formFields(t *testing.T, page string) map[string][]string {
	t.Helper()
	if !strings.Contains(page, `action="/mail/compose"`) {
		t.Fatalf("no compose form in:\n%s", page)
	}
	out := map[string][]string{}
	for _, m := range inputField.FindAllStringSubmatch(page, -1) {
		out[m[1]] = []string{html.UnescapeString(m[2])}
	}
	for _, m := range textareaField.FindAllStringSubmatch(page, -1) {
		out[m[1]] = []string{html.UnescapeString(m[2])}
	}
	if m := selectedFrom.FindStringSubmatch(page); m != nil {
		out["from"] = []string{html.UnescapeString(m[1])}
	}
	for _, m := range keptFile.FindAllStringSubmatch(page, -1) {
		out["keep"] = append(out["keep"], html.UnescapeString(m[1]))
	}
	return out
}

// messagesIn returns the raw messages of one of an account's mailboxes, with their flags.
func messagesIn(t *testing.T, st *store.Store, accountID uint64, mailbox string) ([][]byte, [][]string) {
	t.Helper()
	mb, err := st.Mailbox(accountID, mailbox)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := st.MailboxSnapshot(mb.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := st.Messages(mb.ID, snap.UIDs, store.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var raws [][]byte
	var flags [][]string
	for _, m := range msgs {
		raw := make([]byte, m.BodySize)
		if _, err := st.Body(m.Body, m.BodySize).ReadAt(raw, 0); err != nil {
			t.Fatal(err)
		}
		raws, flags = append(raws, raw), append(flags, m.Flags)
	}
	return raws, flags
}
