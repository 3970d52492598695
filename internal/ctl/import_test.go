package ctl_test

import (
	"strings"
	"testing"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
)

// An import batch is larger than a request line: its arguments follow the line, and the server stores it.
func TestImportBatchLargerThanARequestLine(t *testing.T) {
	ts := newTestServer(t)
	c := ts.dial(t)
	if err := ctl.Do(c, ctl.DomainAdd, ctl.DomainArgs{Name: "vinhyen.gov.vn"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.Call(c, ctl.UserAdd, admin.AddUserRequest{Address: "an@vinhyen.gov.vn", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	body := "Subject: lớn\r\n\r\n" + strings.Repeat("nội dung dài\r\n", 2*ctl.MaxRequest/16)
	batch := admin.ImportBatch{Address: "an@vinhyen.gov.vn", Messages: []admin.ImportMessage{
		{Folder: "Lưu trữ/2020", Data: []byte(body), Flags: []string{`\Seen`}, Date: time.Unix(1600000000, 0)},
		{Folder: "Lưu trữ/2020", Data: []byte(body), Date: time.Unix(1600000000, 0)},
	}}
	got, err := ctl.Call(c, ctl.ImportBatch, batch)
	if err != nil {
		t.Fatal(err)
	}
	want := []admin.ImportStatus{{Outcome: admin.ImportedStatus}, {Outcome: admin.DuplicateStatus}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("outcomes %+v, want %+v", got, want)
	}
	a, err := ts.store.Account("an@vinhyen.gov.vn")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := ts.store.Mailbox(a.ID, "Lưu trữ/2020")
	if err != nil || mb.Messages != 1 || mb.Size != int64(len(body)) {
		t.Errorf("folder %+v, %v", mb, err)
	}
	ts.dial(t) // the server still answers
}

// Only an operation that takes large arguments may send them after its line, and only up to its limit.
func TestArgsAfterLineRefused(t *testing.T) {
	ts := newTestServer(t)
	got := rawCall(t, ts.path, `{"op":"domain.add","args_len":20}`)
	if !strings.Contains(got[0], `"ok":false`) || !strings.Contains(got[0], "more than it takes") {
		t.Errorf("domain.add with args after its line: %s", got[0])
	}
	got = rawCall(t, ts.path, `{"op":"import.batch","args_len":100000000000}`)
	if !strings.Contains(got[0], "more than it takes") {
		t.Errorf("import.batch over its limit: %s", got[0])
	}
	ts.dial(t)
}
