package mailview

import (
	"mime"
	"strings"
	"testing"
)

func TestContentDispositionVietnamese(t *testing.T) {
	got := ContentDisposition("Công văn số 12 – Báo cáo.pdf", "application/pdf")
	want := `inline; filename="cong van so 12 _ bao cao.pdf"; ` +
		`filename*=UTF-8''C%C3%B4ng%20v%C4%83n%20s%E1%BB%91%2012%20%E2%80%93%20B%C3%A1o%20c%C3%A1o.pdf`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// Go's own parser (as a client would) reads the UTF-8 name back.
	disp, params, err := mime.ParseMediaType(got)
	if err != nil || disp != "inline" || params["filename"] != "Công văn số 12 – Báo cáo.pdf" {
		t.Errorf("parsed back: %q %q %v", disp, params, err)
	}
}

func TestContentDispositionInlineOnlyForSafeTypes(t *testing.T) {
	for ct, want := range map[string]string{
		"application/pdf":          "inline",
		"image/png":                "inline",
		"IMAGE/JPEG; name=a.jpg":   "inline",
		"image/svg+xml":            "attachment",
		"text/html; charset=utf-8": "attachment",
		"text/plain":               "attachment",
		"application/xhtml+xml":    "attachment",
		"application/octet-stream": "attachment",
		"":                         "attachment",
		"nonsense":                 "attachment",
	} {
		if got, _, _ := strings.Cut(ContentDisposition("a.bin", ct), ";"); got != want {
			t.Errorf("%q: %s, want %s", ct, got, want)
		}
	}
}

func TestContentDispositionCannotBreakOut(t *testing.T) {
	for _, name := range []string{
		"a\"; filename=\"evil.html",
		"bao cao\r\nSet-Cookie: x=1",
		"bao cao\nContent-Type: text/html",
		"../../etc/passwd",
		`..\..\windows\win.ini`,
		"/abs/path/Tờ trình.docx",
		"\x00nul\x7f.txt",
		"a\\\"b.txt",
		"..",
		"\u202Efdp.exe",
	} {
		got := ContentDisposition(name, "application/octet-stream")
		if strings.ContainsAny(got, "\r\n\x00\x7f/\\") {
			t.Errorf("%q: header holds a control character or a separator: %q", name, got)
		}
		disp, params, err := mime.ParseMediaType(got)
		if err != nil || disp != "attachment" {
			t.Errorf("%q: %q does not parse as one attachment disposition: %v", name, got, err)
			continue
		}
		for k, v := range params {
			if k != "filename" {
				t.Errorf("%q: extra parameter %s=%q in %q", name, k, v, got)
			}
			if strings.ContainsAny(v, "/\\\"\r\n") || strings.HasPrefix(v, ".") || strings.ContainsRune(v, '\u202E') {
				t.Errorf("%q: unsafe file name %q", name, v)
			}
		}
	}
	if got := ContentDisposition("../../", "application/pdf"); got != "inline" {
		t.Errorf("a name that is only a path gave %q, want no file name", got)
	}
	if got := ContentDisposition("/abs/path/Tờ trình.docx", ""); !strings.Contains(got, `filename="to trinh.docx"`) {
		t.Errorf("base name not kept: %q", got)
	}
}

func TestSafeFileNameLength(t *testing.T) {
	long := strings.Repeat("Đơn ", 100) + ".pdf"
	got := safeFileName(long)
	if n := len([]rune(got)); n > maxFileName || !strings.HasSuffix(got, ".pdf") {
		t.Errorf("%d runes, %q", n, got)
	}
}
