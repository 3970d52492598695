package message

import (
	"bytes"
	"fmt"
	"mime/quotedprintable"
	"os"
	"strings"
	"testing"
)

// mailbenchMessage is a 20 KiB message as cmd/mailbench generateMessage makes it (seed 1, message 100): the
// letter every delivery of the load tool parses and the indexer splits into terms.
func mailbenchMessage(tb testing.TB) []byte {
	raw, err := os.ReadFile("testdata/mailbench-20KiB.eml")
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// BenchmarkParseMailbench is the parse of one delivery of the load tool.
func BenchmarkParseMailbench(b *testing.B) {
	raw := mailbenchMessage(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		Parse(raw)
	}
}

// BenchmarkEachTermMailbench is what the indexer does with that message's search text.
func BenchmarkEachTermMailbench(b *testing.B) {
	text := Parse(mailbenchMessage(b)).SearchText()
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	n := 0
	for b.Loop() {
		EachTerm(text, func(t Term) { n += len(t.Text) })
	}
	if n == 0 {
		b.Fatal("no terms")
	}
}

func BenchmarkDecodeMeta(b *testing.B) {
	for _, name := range []string{"valid-simple", "valid-multipart-vi"} {
		enc := Parse([]byte(corpus[name])).Meta()
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				if _, err := DecodeMeta(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	inputs := map[string][]byte{
		"multipart-vi":    []byte(corpus["valid-multipart-vi"]),
		"20KiB-vi-qp":     vietnameseQPMessage(20 << 10),
		"1MB-attachment":  attachmentMessage(1 << 20),
		"10MB-attachment": attachmentMessage(10 << 20),
		"nested-bomb":     nestedMultipart(5000),
	}
	for _, n := range []int{1 << 18, 1 << 20} { // a quarter and the whole: time per byte must not grow
		for name, raw := range adversarialInputs(n) {
			inputs[fmt.Sprintf("adversarial/%s/%dKiB", name, n>>10)] = []byte(raw)
		}
	}
	for name, raw := range inputs {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				Parse(raw)
			}
		})
	}
}

func BenchmarkFold(b *testing.B) {
	s := strings.Repeat("Kính gửi Ủy ban nhân dân tỉnh Thừa Thiên Huế, báo cáo tổng kết năm. ", 1000)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		Fold(s)
	}
}

// vietnameseQPMessage is a letter like the ones mailbench delivers: multipart/alternative, Vietnamese text in
// quoted-printable, as text/plain and as text/html, about size bytes.
func vietnameseQPMessage(size int) []byte {
	const para = "Kính gửi Ủy ban nhân dân tỉnh Thừa Thiên Huế, Sở Tài chính báo cáo tổng kết năm và kế hoạch năm tới. "
	var text bytes.Buffer
	for text.Len() < size/5 {
		text.WriteString(para)
	}
	qp := func(s string) string {
		var b bytes.Buffer
		w := quotedprintable.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return strings.ReplaceAll(strings.ReplaceAll(b.String(), "\r\n", "\n"), "\n", "\r\n")
	}
	return []byte("From: =?UTF-8?Q?V=C4=83n_th=C6=B0?= <vanthu@example.gov.vn>\r\nTo: user1@example.gov.vn\r\n" +
		"Subject: =?UTF-8?Q?B=C3=A1o_c=C3=A1o?=\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		qp(text.String()) + "\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + qp("<html><body><p>"+text.String()+"</p></body></html>") +
		"\r\n--b--\r\n")
}

func BenchmarkDecodeQuotedPrintable(b *testing.B) {
	raw := vietnameseQPMessage(20 << 10)
	body := raw[bytes.Index(raw, []byte("\r\n\r\n--b\r\n")):]
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		decodeAll("quoted-printable", body, 0)
	}
}
