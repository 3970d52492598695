package mailfile

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestFolderNameUTF7(t *testing.T) {
	tests := []struct{ utf8, utf7 string }{
		{"Sent", "Sent"},
		{"Lưu trữ", "L&AbA-u tr&Hu8-"},
		{"Báo cáo", "B&AOE-o c&AOE-o"},
		{"Đã gửi", "&ARAA4w- g&Hu0-i"},
		{"R&D", "R&-D"},
		{"日本語", "&ZeVnLIqe-"},
	}
	for _, tc := range tests {
		if got := EncodeFolderName(tc.utf8); got != tc.utf7 {
			t.Errorf("EncodeFolderName(%q) = %q, want %q", tc.utf8, got, tc.utf7)
		}
		if got, err := DecodeFolderName(tc.utf7); got != tc.utf8 || err != nil {
			t.Errorf("DecodeFolderName(%q) = %q, %v", tc.utf7, got, err)
		}
	}
	for _, bad := range []string{"a&b", "&AGE-", "&Jjo", "Lưu"} {
		if _, err := DecodeFolderName(bad); err == nil {
			t.Errorf("DecodeFolderName(%q) accepted", bad)
		}
	}
}

func mkMaildir(t testing.TB, dir string) {
	t.Helper()
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMaildirFolders maps a Maildir++ tree with Dovecot's UTF-7 names and a plain nested one with UTF-8 names.
func TestMaildirFolders(t *testing.T) {
	root := t.TempDir()
	for _, dir := range []string{".", ".Sent", ".Inbox.Reports", ".L&AbA-u tr&Hu8-.2025", ".V%2En b%25n", "Lưu trữ/2025", "Sent", "notmail/x"} {
		if dir != "notmail/x" {
			mkMaildir(t, filepath.Join(root, dir))
		}
	}
	os.MkdirAll(filepath.Join(root, "notmail/x"), 0o755)
	folders, err := MaildirFolders(root)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range folders {
		rel, _ := filepath.Rel(root, f.Dir)
		got[rel] = f.Name
	}
	want := map[string]string{
		".": "INBOX", ".Sent": "Sent", ".Inbox.Reports": "INBOX/Reports", ".L&AbA-u tr&Hu8-.2025": "Lưu trữ/2025", ".V%2En b%25n": "V.n b%n",
		"Lưu trữ/2025": "Lưu trữ/2025", "Sent": "Sent",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("folders %v\nwant %v", got, want)
	}
}

// TestEmlTree reads a Zimbra-like export: folders map to folders, each file one message, LF and CRLF files.
func TestEmlTree(t *testing.T) {
	root := t.TempDir()
	day := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	writeFile(t, filepath.Join(root, "a.eml"), "Subject: root\n\nx\n", day)
	writeFile(t, filepath.Join(root, "Sent Items", "2.EML"), "Subject: sent\r\n\r\ny\r\n", day)
	writeFile(t, filepath.Join(root, "Sent Items", "1.eml"), "", day)
	writeFile(t, filepath.Join(root, "Sent Items", "notes.txt"), "not a message", day)
	writeFile(t, filepath.Join(root, "Lưu trữ", "2025", "3.eml"), "Subject: old\n\nFrom here\n", day)
	r, err := OpenEmlTree(root, 0)
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := collect(t, r.Next)
	type got struct{ folder, data string }
	var have []got
	for _, m := range msgs {
		have = append(have, got{m.Folder, string(m.Data)})
	}
	want := []got{
		{"", "Subject: root\r\n\r\nx\r\n"},
		{"Lưu trữ/2025", "Subject: old\r\n\r\nFrom here\r\n"},
		{"Sent Items", ""},
		{"Sent Items", "Subject: sent\r\n\r\ny\r\n"},
	}
	if !reflect.DeepEqual(have, want) {
		t.Errorf("messages %q\nwant %q", have, want)
	}
}

func TestMapFolder(t *testing.T) {
	tests := []struct{ from, want string }{
		{"Sent Items", "Sent"}, {"Sent Messages", "Sent"}, {"Sent", "Sent"}, {"Đã gửi", "Sent"}, {"đã gửi", "Sent"},
		{"Thư đã gửi", "Sent"}, {"INBOX/Sent", "Sent"}, {"[Gmail]/Sent Mail", "Sent"},
		{"Deleted Items", "Trash"}, {"Deleted Messages", "Trash"}, {"Trash", "Trash"}, {"Thùng rác", "Trash"},
		{"Drafts", "Drafts"}, {"Thư nháp", "Drafts"},
		{"Junk E-mail", "Junk"}, {"Spam", "Junk"}, {"[Gmail]/Spam", "Junk"}, {"Thư rác", "Junk"},
		{"Archive", "Archive"}, {"Lưu trữ", "Archive"},
		{"inbox", "INBOX"}, {"Hộp thư đến", "INBOX"},
		{"Sent Items/2024", "Sent/2024"}, {"Báo cáo", "Báo cáo"}, {"INBOX/Reports", "INBOX/Reports"},
		{"Lưu trữ/2025", "Archive/2025"}, {"INBOX/Sent/2024", "Sent/2024"}, {"[Gmail]/Sent Mail/x/y", "Sent/x/y"},
		{"Báo cáo/Sent", "Báo cáo/Sent"}, {"", ""},
	}
	for _, tc := range tests {
		if got := MapFolder(tc.from); got != tc.want {
			t.Errorf("MapFolder(%q) = %q, want %q", tc.from, got, tc.want)
		}
	}
	if got, ok := SpecialUseFolder(`\Sent`); got != "Sent" || !ok {
		t.Errorf(`SpecialUseFolder(\Sent) = %q, %v`, got, ok)
	}
	if _, ok := SpecialUseFolder(`\All`); ok {
		t.Error(`\All mapped`)
	}
}
