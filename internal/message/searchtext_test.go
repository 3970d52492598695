package message

import (
	"strings"
	"testing"
)

func TestSearchTextRoundTrip(t *testing.T) {
	p := Parse([]byte("Subject: Báo cáo tháng\r\n\r\nĐề nghị phê duyệt\r\n"))
	header, body := SplitSearchText(p.SearchText())
	if string(header) != p.HeaderText || string(body) != p.BodyText {
		t.Fatalf("split (%q, %q), want (%q, %q)", header, body, p.HeaderText, p.BodyText)
	}
	if !strings.Contains(string(body), "de nghi phe duyet") {
		t.Errorf("body text %q is not folded", body)
	}
	if h, b := SplitSearchText([]byte("legacy")); string(h) != "legacy" || string(b) != "legacy" {
		t.Errorf("text without NUL: (%q, %q)", h, b)
	}
}
