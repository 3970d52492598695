package message

import (
	"slices"
	"testing"
)

func TestViewExports(t *testing.T) {
	raw := []byte("From: a@b.vn\r\nX-A: =?UTF-8?Q?B=C3=A1o?=\r\n  c\u00e1o\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=windows-1258\r\n\r\n\xD0a\xD2ng\r\n--b--\r\n")
	fs := HeaderFields(raw)
	names := []string{}
	for _, f := range fs {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, []string{"From", "X-A", "Content-Type"}) || fs[1].Value != "=?UTF-8?Q?B=C3=A1o?= cáo" {
		t.Errorf("HeaderFields = %+v", fs)
	}
	if got := DecodeText([]byte("\xD0a\xD2ng"), "windows-1258"); got != "Đảng" {
		t.Errorf("DecodeText = %q", got)
	}
	m := Parse(raw).ToMeta()
	if p := m.Locate([]int{1}); p == nil || p.Params["charset"] != "windows-1258" {
		t.Errorf("Locate(1) = %+v", p)
	}
	if m.Locate([]int{2}) != nil {
		t.Error("Locate(2) found a part that does not exist")
	}
}
