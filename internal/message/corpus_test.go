package message

import (
	"encoding/base64"
	"strings"
)

// crlf turns a readable "\n" message into the CRLF form mail is stored in.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// w1258 is "Báo cáo tổng kết. Đăng ký điện thoại" in windows-1258, which
// writes tones as combining marks (decodes to decomposed Unicode).
const w1258 = "B\xe1o c\xe1o t\xf4\xd2ng k\xea\xect. \xd0\xe3ng ky\xec \xf0i\xea\xf2n thoa\xf2i"

var pdfBytes = func() []byte {
	b := make([]byte, 3000)
	for i := range b {
		b[i] = byte(i*7 + i/13)
	}
	return b
}()

// b64Lines encodes b as base64 in 76-column CRLF lines.
func b64Lines(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var sb strings.Builder
	for len(s) > 76 {
		sb.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	sb.WriteString(s)
	return sb.String()
}

// corpus holds well-formed and malformed messages used by several tests.
// Names starting with "valid-" are well-formed, so go-imap's extractors are
// a fair oracle for them.
var corpus = map[string]string{
	"valid-simple": crlf(`Date: Mon, 02 Jan 2006 15:04:05 +0700
From: "Nguyen Van An" <an@hanoi.gov.vn>
To: binh@hanoi.gov.vn, "Tran Thi C" <c@danang.gov.vn>
Subject: Hello world
Message-ID: <abc.123@hanoi.gov.vn>
Content-Type: text/plain; charset=us-ascii

Hello,
this is a simple message.
`),

	"valid-multipart-vi": crlf(`Date: Tue, 3 Jan 2006 08:00:00 +0700
From: =?UTF-8?B?Tmd1eeG7hW4gVsSDbiBBbg==?= <an@hanoi.gov.vn>
To: =?UTF-8?Q?Tr=E1=BA=A7n_Th=E1=BB=8B_B=C3=ACnh?= <binh@hanoi.gov.vn>
Cc: vanthu@hanoi.gov.vn
Subject: =?UTF-8?B?QsOhbyBjw6FvIFThu5RORyBL4bq+VA==?=
In-Reply-To: <x1@hanoi.gov.vn> <x2@hanoi.gov.vn>
Message-ID: <vi.1@hanoi.gov.vn>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

This is a preamble.
--b1
Content-Type: multipart/alternative; boundary="b2"

--b2
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

K=C3=ADnh g=E1=BB=ADi anh ch=E1=BB=8B,
B=C3=A1o c=C3=A1o t=E1=BB=95ng k=E1=BA=BFt n=C4=83m.
--b2
Content-Type: text/html; charset=utf-8

<html><head><style>p {color: red}</style></head><body><p>K&iacute;nh g&#7917;i <b>anh ch&#7883;</b></p></body></html>
--b2--

--b1
Content-Type: application/pdf; name="=?UTF-8?Q?B=C3=A1o_c=C3=A1o.pdf?="
Content-Disposition: attachment; filename*=UTF-8''B%C3%A1o%20c%C3%A1o%20t%E1%BB%95ng%20k%E1%BA%BFt.pdf
Content-Transfer-Encoding: base64
Content-Description: =?UTF-8?Q?T=C3=A0i_li=E1=BB=87u?=
Content-Language: vi, en

` + b64Lines(pdfBytes) + `
--b1
Content-Type: application/msword
Content-Disposition: attachment;
 filename*0*=windows-1258''%D0%E3ng%20ky%EC%20;
 filename*1=".doc"
Content-Transfer-Encoding: base64
Content-ID: <doc1@hanoi.gov.vn>

` + b64Lines([]byte("word document")) + `
--b1--
Epilogue.
`),

	"valid-windows-1258": crlf(`From: vanthu@hue.gov.vn
To: an@hue.gov.vn
Subject: =?windows-1258?Q?B=E1o_c=E1o_t=F4=D2ng_k=EA=ECt?=
Date: Wed, 4 Jan 2006 10:00:00 +0700
Content-Type: text/plain; charset=windows-1258
Content-Transfer-Encoding: 8bit

` + w1258 + `
`),

	"valid-rfc822": crlf(`From: a@x.vn
To: b@x.vn
Subject: Fwd: report
Date: Thu, 5 Jan 2006 09:00:00 +0000
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: text/plain

See the forwarded message.
--outer
Content-Type: message/rfc822
Content-Disposition: inline

From: =?utf-8?q?L=C3=AA_V=C4=83n_D?= <d@y.vn>
To: a@x.vn
Subject: =?utf-8?q?=C4=90=E1=BB=81_xu=E1=BA=A5t?=
Date: Wed, 4 Jan 2006 09:00:00 +0700
Message-ID: <inner@y.vn>
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8

Đề xuất kinh phí
--inner
Content-Type: text/html; charset=utf-8

<p>&#272;&#7873; xu&#7845;t</p>
--inner--

--outer
Content-Type: message/rfc822

Subject: plain inner
From: e@z.vn

just text
--outer--
`),

	"valid-digest": crlf(`From: list@x.vn
Subject: digest
Content-Type: multipart/digest; boundary=d

--d

From: one@x.vn
Subject: first

first body
--d
Content-Type: message/rfc822

From: two@x.vn
Subject: second

second body
--d--
`),

	"valid-single-rfc822": crlf(`From: a@x.vn
Subject: wrapped
Content-Type: message/rfc822

From: inner@x.vn
Subject: inner
Content-Type: multipart/mixed; boundary=z

--z
Content-Type: text/plain

one
--z
Content-Type: text/plain

two
--z--
`),

	"zero-parts": crlf(`From: spam@bad.example
Subject: no parts
Content-Type: multipart/mixed; boundary="never"

There is no delimiter here at all.
`),

	"bad-addresses": crlf(`From: "Broken <from@x.vn>
To: good@x.vn, @@@, "Nguyễn An" <an@x.vn>, undisclosed-recipients:;, Bad Name <bad@x.vn, raw@y.vn
Cc: ,,,
Subject: bad addresses

body
`),

	"bare-lf": `From: lf@x.vn
To: b@x.vn
Subject: bare LF
Content-Type: multipart/mixed; boundary=lf

--lf
Content-Type: text/plain

line one
line two
--lf
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

` + base64.StdEncoding.EncodeToString([]byte("Xin chào")) + `
--lf--
`,
}
