package message

import (
	"maps"
	"testing"
)

func TestParseParamHeader(t *testing.T) {
	cases := []struct {
		in, value string
		want      map[string]string
	}{
		{`attachment; filename="a b.pdf"`, "attachment", map[string]string{"filename": "a b.pdf"}},
		{`Attachment; FileName=plain name.pdf ; size=10`, "attachment", map[string]string{"filename": "plain name.pdf", "size": "10"}},
		{`attachment; filename="old.pdf"; filename*=UTF-8''B%C3%A1o.pdf`, "attachment",
			map[string]string{"filename": "Báo.pdf"}},
		{`attachment; filename*1*=%C3%A1o.pdf; filename*0*=UTF-8'vi'B`, "attachment", map[string]string{"filename": "Báo.pdf"}},
		{`attachment; filename*0="a"; filename*2="c"`, "attachment", map[string]string{"filename": "a"}},
		{`attachment; filename*=windows-1258''%D0%E3ng%20ky%EC.doc`, "attachment", map[string]string{"filename": "Đăng ký.doc"}},
		{`attachment; filename*=x-unknown''abc%FF`, "attachment", map[string]string{"filename": "abc\uFFFD"}},
		{`text/plain; name="=?UTF-8?B?QsOhbyBjw6FvLnR4dA==?="; charset=utf-8; charset=latin1`, "text/plain",
			map[string]string{"name": "Báo cáo.txt", "charset": "utf-8"}},
		{`multipart/mixed; boundary="=?x?q?y?="`, "multipart/mixed", map[string]string{"boundary": "=?x?q?y?="}},
		{`text/plain; name="unterminated`, "text/plain", map[string]string{"name": "unterminated"}},
		{`text/plain; novalue; a="q\"uo\\te"`, "text/plain", map[string]string{"a": `q"uo\te`}},
		{`inline`, "inline", nil},
	}
	for _, c := range cases {
		value, params := parseParamHeader(c.in, "")
		if value != c.value || !maps.Equal(params, c.want) {
			t.Errorf("%s:\n got %q %q\nwant %q %q", c.in, value, params, c.value, c.want)
		}
	}
}

// TestRaw8bitHeader: a header written in the body's legacy charset without
// RFC 2047 is decoded with that charset.
func TestRaw8bitHeader(t *testing.T) {
	raw := "From: \"\xd0\xe3ng\" <d@x.vn>\r\nSubject: " + w1258 + "\r\n" +
		"Content-Type: text/plain; charset=windows-1258\r\n\r\nbody\r\n"
	p := Parse([]byte(raw))
	if want := "Báo cáo tổng kết. Đăng ký điện thoại"; p.Envelope.Subject != want {
		t.Errorf("subject %q, want %q", p.Envelope.Subject, want)
	}
	if len(p.Envelope.From) != 1 || p.Envelope.From[0].Name != "Đăng" {
		t.Errorf("from %+v", p.Envelope.From)
	}
}
