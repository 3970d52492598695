package mailview

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// crlf turns a message written with \n into one with CRLF line ends, as stored.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

// b64Lines is base64 in 76-character lines (RFC 2045 6.8).
func b64Lines(b []byte) string {
	enc := base64.StdEncoding.EncodeToString(b)
	var sb strings.Builder
	for len(enc) > 76 {
		sb.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	sb.WriteString(enc + "\n")
	return sb.String()
}

func partURL(path string) string { return "/mail/part/" + path }

func TestRenderVietnameseHeadersAndText(t *testing.T) {
	raw := crlf(`From: =?UTF-8?B?Tmd1eeG7hW4gVsSDbiBBbg==?= <an.nv@vinhyen.gov.vn>
To: =?windows-1258?Q?Tr=E0_Thi=F2_Bi=CCnh?= <binh.tt@vinhyen.gov.vn>, Phòng Tổ chức: ha@vinhyen.gov.vn, lan@vinhyen.gov.vn;
Cc: "Lê Văn C" <c@vinhyen.gov.vn>
Subject: =?UTF-8?Q?B=C3=A1o_c=C3=A1o_t=E1=BB=95ng_k=E1=BA=BFt_n=C4=83m?=
Date: Tue, 14 Jan 2025 08:30:00 +0700
X-Ghi-Chu: =?UTF-8?B?xJDDoyBkdXnhu4d0?=
MIME-Version: 1.0
Content-Type: text/plain; charset=windows-1258
Content-Transfer-Encoding: 8bit

K` + "\xEDnh g\xFD\xD2i \xD0a\xD2ng u\xD2y" + `.
`)
	v, err := Render(raw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Subject != "Báo cáo tổng kết năm" {
		t.Errorf("Subject = %q", v.Subject)
	}
	if len(v.From) != 1 || v.From[0].String() != "Nguyễn Văn An <an.nv@vinhyen.gov.vn>" {
		t.Errorf("From = %+v", v.From)
	}
	wantTo := []string{"Trà Thị Bình <binh.tt@vinhyen.gov.vn>", "ha@vinhyen.gov.vn", "lan@vinhyen.gov.vn"}
	if len(v.To) != len(wantTo) {
		t.Fatalf("To = %+v, want %q (no group markers)", v.To, wantTo)
	}
	for i, w := range wantTo {
		if v.To[i].String() != w {
			t.Errorf("To[%d] = %q, want %q", i, v.To[i].String(), w)
		}
	}
	if len(v.Cc) != 1 || v.Cc[0].Name != "Lê Văn C" {
		t.Errorf("Cc = %+v", v.Cc)
	}
	if v.Date.IsZero() || v.Date.UTC().Hour() != 1 {
		t.Errorf("Date = %v", v.Date)
	}
	if want := "Kính gửi Đảng ủy.\r\n"; v.Text != want {
		t.Errorf("Text = %q, want %q (windows-1258 decoded, NFC)", v.Text, want)
	}
	if v.HTML != "" || len(v.Attachments) != 0 {
		t.Errorf("HTML %q, attachments %+v: want none", v.HTML, v.Attachments)
	}
	found := false
	for _, h := range v.Headers {
		if h.Name == "X-Ghi-Chu" {
			found = h.Value == "Đã duyệt"
		}
	}
	if !found || len(v.Headers) != 9 {
		t.Errorf("Headers = %+v: want all 9 fields, X-Ghi-Chu decoded", v.Headers)
	}
}

// pdfBytes is a small PDF with every byte value, so that a decoding that touched any byte would show.
func pdfBytes() []byte {
	b := []byte("%PDF-1.4\n%\xE2\xE3\xCF\xD3\n")
	for i := range 512 {
		b = append(b, byte(i))
	}
	return append(b, "\n%%EOF\n"...)
}

func attachmentMessage(pdf []byte) []byte {
	return crlf(`From: an.nv@vinhyen.gov.vn
To: binh.tt@vinhyen.gov.vn
Subject: =?UTF-8?Q?C=C3=B4ng_v=C4=83n?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

Xem tệp đính kèm.
--alt
Content-Type: multipart/related; boundary="rel"

--rel
Content-Type: text/html; charset=utf-8

<p>Xem <b>tệp</b> đính kèm.</p><img src="cid:logo@vinhyen.gov.vn" alt="logo"><img src="https://tracker.example/p.gif?u=binh">
--rel
Content-Type: image/png
Content-ID: <logo@vinhyen.gov.vn>
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--rel--
--alt--
--outer
Content-Type: application/pdf
Content-Disposition: attachment;
 filename*0*=UTF-8''C%C3%B4ng%20v%C4%83n%20s%E1%BB%91%20;
 filename*1*=12%20%E2%80%93%20B%C3%A1o%20c%C3%A1o;
 filename*2=".pdf"
Content-Transfer-Encoding: base64

` + b64Lines(pdf) + `--outer--
`)
}

func TestRenderAttachmentsAndImages(t *testing.T) {
	pdf := pdfBytes()
	raw := attachmentMessage(pdf)
	v, err := Render(raw, Options{PartURL: partURL})
	if err != nil {
		t.Fatal(err)
	}
	if v.Text != "Xem tệp đính kèm." {
		t.Errorf("Text = %q", v.Text)
	}
	if !strings.Contains(v.HTML, `<img alt="logo" src="/mail/part/1.2.2">`) {
		t.Errorf("cid image not mapped to its part URL: %s", v.HTML)
	}
	if strings.Contains(v.HTML, "tracker.example") || !v.RemoteImagesBlocked {
		t.Errorf("remote image kept or not reported (blocked=%v): %s", v.RemoteImagesBlocked, v.HTML)
	}
	if len(v.Attachments) != 2 {
		t.Fatalf("Attachments = %+v, want the logo and the PDF", v.Attachments)
	}
	logo, doc := v.Attachments[0], v.Attachments[1]
	if logo.Path != "1.2.2" || !logo.Inline || logo.ContentID != "logo@vinhyen.gov.vn" || logo.ContentType != "image/png" {
		t.Errorf("logo = %+v", logo)
	}
	wantName := "Công văn số 12 – Báo cáo.pdf"
	if doc.Path != "2" || doc.FileName != wantName || doc.ContentType != "application/pdf" || doc.Inline ||
		doc.Size != int64(len(pdf)) {
		t.Errorf("pdf = %+v, want path 2, name %q, size %d", doc, wantName, len(pdf))
	}

	ct, name, body, err := Part(raw, doc.Path)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "application/pdf" || name != wantName || !bytes.Equal(body, pdf) {
		t.Errorf("Part = %q, %q, %d bytes equal=%v", ct, name, len(body), bytes.Equal(body, pdf))
	}

	allowed, err := Render(raw, Options{PartURL: partURL, AllowRemoteImages: true})
	if err != nil {
		t.Fatal(err)
	}
	if allowed.RemoteImagesBlocked || !strings.Contains(allowed.HTML, `src="https://tracker.example/p.gif?u=binh"`) {
		t.Errorf("remote image not shown once allowed (blocked=%v): %s", allowed.RemoteImagesBlocked, allowed.HTML)
	}
	if !strings.Contains(allowed.HTML, "img-src &#39;self&#39; data: https: http:") || strings.Contains(v.HTML, "https: http:") {
		t.Errorf("document CSP does not follow AllowRemoteImages")
	}
}

func TestRenderWithoutPartURLDropsCidImages(t *testing.T) {
	v, err := Render(attachmentMessage(pdfBytes()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(v.HTML, "<img") {
		t.Errorf("an image was kept without PartURL: %s", v.HTML)
	}
}

func TestPartErrors(t *testing.T) {
	raw := attachmentMessage(pdfBytes())
	for _, path := range []string{"", "0", "1", "3", "1.9", "a.b", "1..2", "2.1"} {
		if _, _, _, err := Part(raw, path); !errors.Is(err, ErrNoPart) {
			t.Errorf("Part(%q) err = %v, want ErrNoPart", path, err)
		}
	}
	ct, _, body, err := Part(raw, "1.1")
	if err != nil || ct != "text/plain; charset=utf-8" || string(body) != "Xem tệp đính kèm." {
		t.Errorf("Part(1.1) = %q, %q, %v", ct, body, err)
	}
}

func TestRenderSinglePartHTMLAndEmbeddedMessage(t *testing.T) {
	raw := crlf(`From: a@vinhyen.gov.vn
Subject: html
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p style=3D"color: red; background-image: url(https://x.example/a)">Ch=C3=A0o</p>
--b
Content-Type: message/rfc822

From: b@example.com
Subject: forwarded

inner
--b--
`)
	v, err := Render(raw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Text != "" || !strings.Contains(v.HTML, `<p style="color: red">Chào</p>`) {
		t.Errorf("Text %q, HTML %s", v.Text, v.HTML)
	}
	if len(v.Attachments) != 1 || v.Attachments[0].ContentType != "message/rfc822" || v.Attachments[0].Path != "2" {
		t.Errorf("Attachments = %+v, want the forwarded message", v.Attachments)
	}
	_, _, body, err := Part(raw, "2")
	if err != nil || !strings.HasPrefix(string(body), "From: b@example.com\r\n") {
		t.Errorf("Part(2) = %q, %v: want the embedded message whole", body, err)
	}
}

func TestRenderRejectsNonMessage(t *testing.T) {
	if _, err := Render(nil, Options{}); err == nil {
		t.Error("Render(nil) did not fail")
	}
}

func TestRenderUnknownEncodingOfferedAsFile(t *testing.T) {
	raw := crlf(`From: a@vinhyen.gov.vn
Subject: uu
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: x-uuencode

begin 644 a.txt
end
`)
	v, err := Render(raw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Text != "" || len(v.Attachments) != 1 || v.Attachments[0].Path != "1" {
		t.Errorf("Text %q, attachments %+v: want the part offered as a file", v.Text, v.Attachments)
	}
}
