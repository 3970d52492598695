package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"mime"
	"mime/quotedprintable"
	"time"
	"unicode"
	"unicode/utf8"
)

// The markers of the messages that fill and province plant (every markerEvery-th message of a mailbox, from its
// first), so that SEARCH has a known answer: markerText in the body (quoted-printable, so a server must decode it
// to find it) and markerSubject in the RFC 2047-encoded subject. Neither occurs in any other generated text.
const (
	markerText    = "thanhtra"
	markerSubject = "hỏa tốc"
	markerEvery   = 100
)

// marked says whether the i-th message (from 0) of a mailbox carries the markers.
func marked(i int) bool { return i%markerEvery == 0 }

// markedCount is how many of the messages from..to-1 of a mailbox carry the markers.
func markedCount(from, to int) int {
	if to <= from {
		return 0
	}
	upTo := func(n int) int { return (n + markerEvery - 1) / markerEvery } // marked among 0..n-1
	return upTo(to) - upTo(from)
}

// messageSpec describes one generated message; the same spec always gives the same bytes.
type messageSpec struct {
	Seed   uint64
	Index  int    // the message's number in its stream (a mailbox, a run)
	Size   int    // target size in bytes (the result is within a paragraph of it)
	From   string // address
	To     string // address
	Marked bool
	Date   time.Time
}

// Vocabulary of the generated text: words of Vietnamese administrative correspondence, with diacritics.
var (
	words = []string{"công", "văn", "về", "việc", "triển", "khai", "kế", "hoạch", "năm", "của", "ủy", "ban", "nhân",
		"dân", "tỉnh", "phường", "xã", "huyện", "sở", "ngành", "đơn", "vị", "thực", "hiện", "báo", "cáo", "kết", "quả",
		"công", "tác", "quản", "lý", "nhà", "nước", "đất", "đai", "xây", "dựng", "giáo", "dục", "y", "tế", "tài",
		"chính", "ngân", "sách", "đầu", "tư", "công", "chuyển", "đổi", "số", "hành", "chính", "cải", "cách", "thủ",
		"tục", "đề", "nghị", "các", "cơ", "quan", "phối", "hợp", "tổng", "hợp", "gửi", "trước", "ngày", "tháng",
		"quý", "đồng", "chí", "lãnh", "đạo", "chỉ", "đạo", "kiểm", "tra", "giám", "sát", "đánh", "giá", "nội", "dung",
		"phương", "án", "dự", "toán", "hồ", "sơ", "tài", "liệu", "thông", "tin", "trách", "nhiệm", "người", "đứng",
		"đầu", "theo", "quy", "định", "pháp", "luật", "hướng", "dẫn", "số", "liệu", "tiến", "độ", "nhiệm", "vụ",
		"trọng", "tâm", "đột", "xuất", "thường", "xuyên", "an", "toàn", "phòng", "chống", "thiên", "tai", "dịch",
		"bệnh", "môi", "trường", "giao", "thông", "văn", "hóa", "xã", "hội", "lao", "động", "việc", "làm", "điện",
		"tử", "ký", "số", "lưu", "trữ", "tiếp", "nhận", "xử", "lý", "ý", "kiến", "góp", "ý", "dự", "thảo"}
	subjects = []string{"Báo cáo kết quả thực hiện nhiệm vụ", "Kế hoạch triển khai chuyển đổi số",
		"Giấy mời họp giao ban", "Góp ý dự thảo quy định", "Thông báo lịch tiếp công dân",
		"Đề nghị cung cấp số liệu", "Hướng dẫn lập dự toán ngân sách", "Tổng hợp ý kiến cử tri",
		"Phương án phòng chống thiên tai", "Công văn đôn đốc tiến độ"}
	senders = []string{"Văn thư UBND tỉnh", "Phòng Hành chính", "Sở Nội vụ", "Văn phòng Đoàn ĐBQH"}
)

// generateMessage returns a multipart/alternative message of about spec.Size bytes: RFC 2047 subject and sender
// name, a text/plain and a text/html part, both quoted-printable UTF-8 with diacritics, as mail clients send it.
func generateMessage(spec messageSpec) []byte {
	r := rand.New(rand.NewPCG(spec.Seed, uint64(spec.Index)))
	boundary := fmt.Sprintf("mb-%x-%d", spec.Seed, spec.Index)
	var b bytes.Buffer
	writeHeader(&b, spec, r, boundary)
	// The plain part takes about half of what is left, the HTML part the rest (its markup makes it longer).
	plainEnd := b.Len() + max(spec.Size-b.Len(), 0)/2
	// The first paragraph of each part carries the body marker: every message, however small, has one.
	writePart(&b, boundary, "text/plain", plainEnd, func(n int) string { return paragraph(r, spec.Marked && n == 0) })
	htmlEnd := max(spec.Size-len(boundary)-8, b.Len())
	writePart(&b, boundary, "text/html", htmlEnd, func(n int) string {
		return "<p>" + paragraph(r, spec.Marked && n == 0) + "</p>"
	})
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes()
}

func writeHeader(b *bytes.Buffer, spec messageSpec, r *rand.Rand, boundary string) {
	subject := fmt.Sprintf("%s số %d/UBND-VP", subjects[r.IntN(len(subjects))], 100+r.IntN(9000))
	if spec.Marked {
		subject = "[" + markerSubject + "] " + subject
	}
	name := senders[r.IntN(len(senders))]
	fmt.Fprintf(b, "Message-ID: <%x.%d.mailbench@%s>\r\n", spec.Seed, spec.Index, domainOf(spec.From))
	fmt.Fprintf(b, "Date: %s\r\n", spec.Date.Format(time.RFC1123Z))
	fmt.Fprintf(b, "From: %s <%s>\r\n", mime.BEncoding.Encode("UTF-8", name), spec.From)
	fmt.Fprintf(b, "To: <%s>\r\n", spec.To)
	fmt.Fprintf(b, "Subject: %s\r\n", mime.BEncoding.Encode("UTF-8", subject))
	b.WriteString("MIME-Version: 1.0\r\nContent-Language: vi-VN\r\nX-Mailer: mailbench\r\n")
	fmt.Fprintf(b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", boundary)
	b.WriteString("This is a multi-part message in MIME format.\r\n")
}

// writePart writes one quoted-printable part, adding paragraphs until the message reaches end bytes. Each
// paragraph is one line, which quoted-printable encodes on its own, so the size is known as it grows.
func writePart(b *bytes.Buffer, boundary, contentType string, end int, next func(n int) string) {
	fmt.Fprintf(b, "--%s\r\nContent-Type: %s; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
		boundary, contentType)
	w := quotedprintable.NewWriter(b)
	for n := 0; n == 0 || b.Len() < end; n++ {
		w.Write([]byte(next(n) + "\r\n"))
	}
	w.Close()
	b.WriteString("\r\n")
}

// paragraph returns a few sentences of generated text, with the body marker among them if asked.
func paragraph(r *rand.Rand, withMarker bool) string {
	var p []byte
	sentences := 2 + r.IntN(4)
	for s := range sentences {
		n := 8 + r.IntN(14)
		for i := range n {
			w := words[r.IntN(len(words))]
			if i == 0 {
				w = capitalize(w)
			}
			if withMarker && s == 0 && i == n/2 {
				w = markerText
			}
			p = append(p, w...)
			p = append(p, ' ')
		}
		p[len(p)-1] = '.'
		p = append(p, ' ')
	}
	return string(p[:len(p)-1])
}

// capitalize upper-cases the first letter of a word.
func capitalize(w string) string {
	first, n := utf8.DecodeRuneInString(w)
	return string(unicode.ToUpper(first)) + w[n:]
}

func domainOf(address string) string {
	for i := len(address) - 1; i >= 0; i-- {
		if address[i] == '@' {
			return address[i+1:]
		}
	}
	return "localhost"
}
