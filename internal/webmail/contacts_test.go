package webmail

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"mailserver/internal/mailview"
	"mailserver/internal/store"
)

// contactsOf asks /mail/contacts for q and decodes the answer.
func (e *testEnv) contactsOf(t *testing.T, c *http.Client, q string) []contact {
	t.Helper()
	r := e.get(t, c, "/mail/contacts?q="+url.QueryEscape(q))
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("contacts %q: %d %s\n%s", q, r.status, r.header.Get("Content-Type"), r.body)
	}
	var out []contact
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatalf("contacts %q: %v\n%s", q, err, r.body)
	}
	return out
}

func addDirectoryEntry(t *testing.T, st *store.Store, a store.Account) {
	t.Helper()
	if _, err := st.AddAccount(a); err != nil {
		t.Fatal(err)
	}
}

func TestContactsFoldedKindsAndVisibility(t *testing.T) {
	e := newTestEnv(t, 0)
	if err := e.st.AddDomain("hue.gov.vn"); err != nil {
		t.Fatal(err)
	}
	addDirectoryEntry(t, e.st, store.Account{Address: "hung@hanoi.gov.vn", Name: "Nguyễn Văn Hùng"})
	addDirectoryEntry(t, e.st, store.Account{Address: "hung.le@hue.gov.vn", Name: "Lê Hùng"})
	addDirectoryEntry(t, e.st, store.Account{Address: "vanthu@hanoi.gov.vn", Name: "Văn thư Hùng Vương", Shared: true})
	addDirectoryEntry(t, e.st, store.Account{Address: "cu@hanoi.gov.vn", Name: "Trần Hùng (đã nghỉ)",
		Disabled: true, PasswordHash: "$argon2id$secret"})
	if _, err := e.st.AddGroup(store.Group{Address: "hung-group@hanoi.gov.vn", Name: "Nhóm Hùng"}); err != nil {
		t.Fatal(err)
	}
	c, _ := e.loggedIn(t)

	got := e.contactsOf(t, c, "HUNG")
	want := []contact{
		{"Lê Hùng", "hung.le@hue.gov.vn", contactPerson}, // another domain: the directory is the province's
		{"Nguyễn Văn Hùng", "hung@hanoi.gov.vn", contactPerson},
		{"Văn thư Hùng Vương", "vanthu@hanoi.gov.vn", contactShared},
		{"Nhóm Hùng", "hung-group@hanoi.gov.vn", contactGroup},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("contacts for HUNG:\n got %v\nwant %v", got, want)
	}
	if got := e.contactsOf(t, c, "văn hùng"); len(got) != 1 || got[0].Address != "hung@hanoi.gov.vn" {
		t.Errorf("contacts for a name with diacritics: %v", got)
	}
	if got := e.contactsOf(t, c, ""); len(got) != 0 {
		t.Errorf("an empty query listed the directory: %v", got)
	}
	// The disabled account is in no answer, and only names and addresses ever leave the server.
	r := e.get(t, c, "/mail/contacts?q=cu")
	if strings.Contains(r.body, "cu@hanoi.gov.vn") || strings.Contains(r.body, "nghỉ") {
		t.Errorf("a disabled account was suggested: %s", r.body)
	}
	r = e.get(t, c, "/mail/contacts?q=h")
	for _, leak := range []string{"argon2id", "quota", "unit", "password", "Quota", "ID"} {
		if strings.Contains(r.body, leak) {
			t.Errorf("the answer carries %q: %s", leak, r.body)
		}
	}
}

func TestContactsLimit(t *testing.T) {
	e := newTestEnv(t, 0)
	for i := range 30 {
		addDirectoryEntry(t, e.st, store.Account{Address: fmt.Sprintf("nv%02d@hanoi.gov.vn", i),
			Name: fmt.Sprintf("Nhân viên Phòng Tài chính %d", i)})
	}
	c, _ := e.loggedIn(t)
	got := e.contactsOf(t, c, "tai chinh")
	if len(got) != maxContacts || got[0].Address != "nv00@hanoi.gov.vn" {
		t.Errorf("%d contacts, first %v", len(got), got[:min(1, len(got))])
	}
}

func TestContactsNeedSession(t *testing.T) {
	e := newTestEnv(t, 0)
	addDirectoryEntry(t, e.st, store.Account{Address: "hung@hanoi.gov.vn", Name: "Nguyễn Văn Hùng"})
	r := e.get(t, e.client(t), "/mail/contacts?q=hung")
	if r.url != "/mail/login" || strings.Contains(r.body, "hung@") {
		t.Errorf("without a session: %d at %s\n%s", r.status, r.url, r.body)
	}
}

// acceptJSON asks for JSON, as mail.js does.
type acceptJSON struct{ next http.RoundTripper }

func (a acceptJSON) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", "application/json")
	return a.next.RoundTrip(r)
}

func TestComposeSaveAnswersJSON(t *testing.T) {
	e := newComposeEnv(t, 0)
	c, _ := e.loggedIn(t)
	f := e.newForm(t, c, "")
	js := *c
	js.Transport = acceptJSON{c.Transport}
	f["to"], f["subject"], f["action"] = []string{"hung@hanoi.gov.vn"}, []string{"Nháp tự lưu"}, []string{"save"}
	data := binaryData(3000)
	var saved savedDraft
	for round, want := range []uint32{1, 2} {
		r := e.postForm(t, &js, f, testFile{vnFileName, "application/pdf", data})
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Fatalf("save %d: %d %s\n%s", round, r.status, r.header.Get("Content-Type"), r.body)
		}
		if err := json.Unmarshal([]byte(r.body), &saved); err != nil {
			t.Fatal(err)
		}
		if saved.Draft != want || len(saved.Carried) != round+1 || saved.Legend != words["vi"]["compose_keep"] {
			t.Fatalf("save %d answered %+v", round, saved)
		}
		// As mail.js does: the next save replaces this draft and keeps its attachments.
		f["draft"] = []string{fmt.Sprint(saved.Draft)}
		f["keep"] = nil
		for _, k := range saved.Carried {
			f["keep"] = append(f["keep"], k.Path)
		}
	}
	drafts, _ := messagesIn(t, e.st, e.acct.ID, "Drafts")
	v, _ := mailview.Render(onlyMessage(t, drafts, "Drafts"), mailview.Options{})
	if v.Subject != "Nháp tự lưu" || len(v.Attachments) != 2 {
		t.Fatalf("the draft: %q, %d attachments", v.Subject, len(v.Attachments))
	}
	for _, a := range v.Attachments {
		if _, _, body, _ := mailview.Part(drafts[0], a.Path); !bytes.Equal(body, data) {
			t.Errorf("attachment %s differs", a.Path)
		}
	}
	// Without the header the answer is still the page.
	r := e.postForm(t, c, f)
	if !strings.Contains(r.body, words["vi"]["compose_draft_saved"]) {
		t.Errorf("the HTML answer: %d\n%s", r.status, r.body)
	}
}

func TestScriptServedUnderCSP(t *testing.T) {
	e := newTestEnv(t, 0)
	r := e.get(t, e.client(t), "/mail/static/mail.js")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/javascript") ||
		!strings.Contains(r.body, "/mail/contacts?q=") {
		t.Fatalf("mail.js: %d %s", r.status, r.header.Get("Content-Type"))
	}
	csp := r.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") ||
		strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
	if login := e.get(t, e.client(t), "/mail/login"); !strings.Contains(login.body, `<script src="/mail/static/mail.js" defer>`) {
		t.Errorf("the pages do not load mail.js")
	}
}
