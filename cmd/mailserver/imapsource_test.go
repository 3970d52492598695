package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestOurFolder(t *testing.T) {
	list := []*imap.ListData{
		{Mailbox: "INBOX", Delim: '.'},
		{Mailbox: "INBOX.Công văn", Delim: '.'},
		{Mailbox: "INBOX.Sent", Delim: '.'}, // Courier: all under INBOX.
		{Mailbox: "Thư đã gửi", Delim: '.', Attrs: []imap.MailboxAttr{imap.MailboxAttrSent}}, // marked special-use
		{Mailbox: "Thư đã gửi.2019", Delim: '.'},                                             // moves with its parent
		{Mailbox: "Báo cáo 1/2024", Delim: '.'},                                              // our delimiter inside a name
		{Mailbox: "Lưu trữ", Delim: '/'},                                                     // mapped by name
		{Mailbox: "Lưu trữ/2020", Delim: '/'},
		{Mailbox: "a*b%c", Delim: 0},
		{Mailbox: "Tài liệu..x", Delim: '.'}, // an empty level
	}
	want := []string{"INBOX", "INBOX/Công văn", "Sent", "Sent", "Sent/2019", "Báo cáo 1-2024", "Archive", "Archive/2020",
		"a_b_c", "Tài liệu/_/x"}
	specials := specialUseFolders(list)
	for i, l := range list {
		if got := ourFolder(l, specials); got != want[i] {
			t.Errorf("%q (delimiter %q) → %q, want %q", l.Mailbox, l.Delim, got, want[i])
		}
	}
}

func TestChunksKeepBatchBounds(t *testing.T) {
	todo := []sourceMessage{{1, 10}, {2, 20 << 20}, {3, 20 << 20}, {4, 60 << 20}, {5, 5}}
	var got []string
	for _, c := range chunks(todo, 50<<20) {
		var uids []string
		for _, m := range c {
			uids = append(uids, fmt.Sprint(m.uid))
		}
		got = append(got, strings.Join(uids, ","))
	}
	// 32 MiB per batch: 1 and 2 fit, 3 starts a new one, the 60 MiB message goes alone (to be reported).
	if strings.Join(got, " ") != "1,2 3 4 5" {
		t.Errorf("chunks %v", got)
	}
}

func TestReadMigrationCSV(t *testing.T) {
	dir := t.TempDir()
	write := func(data string) string {
		path := filepath.Join(dir, "accounts.csv")
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	got, err := readMigrationCSV(write("address,login,password\n# comment\nan.nv@vinhyen.gov.vn, an.nv ,\"p,w\"\nbinh@vinhyen.gov.vn,binh,x\n"), false)
	if err != nil || len(got) != 2 || got[0] != (migrationAccount{"an.nv@vinhyen.gov.vn", "an.nv", "p,w"}) {
		t.Fatalf("accounts %+v, %v", got, err)
	}
	for data, reason := range map[string]string{
		"an.nv,an,pw\n":                         `line 1: "an.nv" is not an address`,
		"an@vinhyen.gov.vn,an\n":                "line 1: the old password is empty (or give --admin)",
		"an@vinhyen.gov.vn,,pw\n":               "line 1: the old login is empty",
		"a@v.vn,a,p\na@v.vn,a,q\n":              "line 2: a@v.vn from a is listed twice",
		"address,login,password\n":              "lists no account",
		"an@vinhyen.gov.vn,an,pw,extra,field\n": "line 1: want new address,old login,old password; got 5 fields",
	} {
		if _, err := readMigrationCSV(write(data), false); err == nil || !strings.Contains(err.Error(), reason) {
			t.Errorf("%q: error %v, want %q", data, err, reason)
		}
	}
	if got, err := readMigrationCSV(write("an@vinhyen.gov.vn,an\n"), true); err != nil || len(got) != 1 {
		t.Errorf("without passwords under --admin: %v %v", got, err)
	}
}
