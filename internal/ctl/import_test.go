package ctl_test

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
	"mailserver/internal/store"
)

// An import batch is larger than a request line: its arguments follow the line, and the server stores it.
func TestImportBatchLargerThanARequestLine(t *testing.T) {
	ts, c := serverWithAccount(t)
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

// An import batch's messages travel raw after the JSON that describes them, not in it: bytes that JSON would have
// to escape or base64 (NUL, bytes that are not UTF-8) arrive and are stored as they are.
func TestImportBatchBytesTravelRaw(t *testing.T) {
	ts, _ := serverWithAccount(t)
	first := "Subject: một\r\n\r\nnhị phân \x00\xff\xfe\r\n"
	second := "Subject: hai\r\n\r\nx\r\n"
	header := `{"address":"an@vinhyen.gov.vn","messages":[{"folder":"Lưu trữ","date":"2020-09-13T12:26:40Z"},` +
		`{"folder":"Lưu trữ","flags":["\\Seen"],"date":"2020-09-13T12:26:41Z"}],"lengths":[` +
		strconv.Itoa(len(first)) + "," + strconv.Itoa(len(second)) + "]}"
	line := fmt.Sprintf(`{"op":"import.batch","args_len":%d,"body_len":%d}`, len(header), len(first)+len(second))
	got := rawCall(t, ts.path, line+"\n"+header+first+second)
	if want := `{"ok":true,"result":[{"outcome":"imported"},{"outcome":"imported"}]}`; got[0] != want {
		t.Fatalf("raw batch: %s\nwant %s", got[0], want)
	}
	bodies := folderBodies(t, ts.store, "an@vinhyen.gov.vn", "Lưu trữ")
	if len(bodies) != 2 || bodies[0] != first || bodies[1] != second {
		t.Errorf("stored %q, want %q and %q", bodies, first, second)
	}

	// Lengths that do not add up to the bytes sent are refused, and nothing is stored.
	line = fmt.Sprintf(`{"op":"import.batch","args_len":%d,"body_len":%d}`, len(header), len(first)+len(second)+1)
	got = rawCall(t, ts.path, line+"\n"+header+first+second+"x")
	if !strings.Contains(got[0], `"ok":false`) || !strings.Contains(got[0], "1 bytes after the last message") {
		t.Errorf("a batch with bytes left over: %s", got[0])
	}
	if n := len(folderBodies(t, ts.store, "an@vinhyen.gov.vn", "Lưu trữ")); n != 2 {
		t.Errorf("%d messages after the refused batch, want 2", n)
	}
}

// serverWithAccount serves a store holding the account an@vinhyen.gov.vn and returns a client for it.
func serverWithAccount(t *testing.T) (*testServer, *ctl.Client) {
	t.Helper()
	ts := newTestServer(t)
	c := ts.dial(t)
	if err := ctl.Do(c, ctl.DomainAdd, ctl.DomainArgs{Name: "vinhyen.gov.vn"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.Call(c, ctl.UserAdd, admin.AddUserRequest{Address: "an@vinhyen.gov.vn", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	return ts, c
}

// folderBodies returns the bytes of the messages of an account's folder, in UID order.
func folderBodies(t *testing.T, st *store.Store, address, folder string) []string {
	t.Helper()
	a, err := st.Account(address)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.Mailbox(a.ID, folder)
	if err != nil {
		t.Fatal(err)
	}
	uids, err := st.UIDs(mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := st.Messages(mb.ID, uids, store.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		body := make([]byte, m.BodySize)
		if _, err := st.Body(m.Body, m.BodySize).ReadAt(body, 0); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		out = append(out, string(body))
	}
	return out
}
