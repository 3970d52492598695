package main

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The corpus of the import benchmarks: generated messages of about 20 KiB, each with its own Message-ID and
// text, with the headers a government mailbox holds (Vietnamese names and subjects as RFC 2047 encoded words,
// Received lines) and, one in four, a PDF attachment in base64.

const corpusMessageSize = 20 << 10

var (
	corpusWords = []string{"báo", "cáo", "tình", "hình", "thực", "hiện", "nhiệm", "vụ", "kinh", "tế", "xã", "hội",
		"quý", "năm", "Ủy", "ban", "nhân", "dân", "thành", "phố", "Vĩnh", "Yên", "đề", "nghị", "các", "phòng",
		"ban", "đơn", "vị", "khẩn", "trương", "tổng", "hợp", "số", "liệu", "gửi", "về", "Văn", "phòng", "trước",
		"ngày", "theo", "quy", "định", "công", "văn", "hướng", "dẫn", "triển", "khai", "kế", "hoạch", "đầu", "tư",
		"công", "giải", "ngân", "vốn", "ngân", "sách", "nhà", "nước", "cải", "cách", "hành", "chính", "chuyển",
		"đổi", "số", "trân", "trọng", "cảm", "ơn", "đồng", "chí", "lãnh", "đạo", "phê", "duyệt", "dự", "án"}
	corpusNames = []string{"Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Thu Dung", "Hoàng Minh Đức",
		"Vũ Thị Giang", "Đặng Quốc Hùng", "Bùi Thanh Hương"}
	corpusSubjects = []string{"Báo cáo tình hình kinh tế xã hội", "V/v triển khai kế hoạch chuyển đổi số",
		"Giấy mời họp giao ban tuần", "Công văn đề nghị tổng hợp số liệu", "Thông báo lịch tiếp công dân",
		"Kế hoạch giải ngân vốn đầu tư công", "Tờ trình phê duyệt dự án"}
)

// corpusMessage appends message i (LF line endings, as mbox files and Maildirs on disk have them) to buf.
func corpusMessage(buf []byte, i int) []byte {
	start := len(buf)
	rng := rand.New(rand.NewPCG(uint64(i), 0x1d0c))
	date := corpusDate(i)
	from := corpusNames[i%len(corpusNames)]
	subject := fmt.Sprintf("%s số %d/%s", corpusSubjects[rng.IntN(len(corpusSubjects))], i, date.Format("2006"))
	buf = fmt.Appendf(buf, "Return-Path: <user%d@vinhyen.gov.vn>\n", i%97)
	buf = fmt.Appendf(buf, "Received: from mail.vinhphuc.gov.vn (mail.vinhphuc.gov.vn [203.113.%d.%d])\n"+
		"\tby mx.vinhyen.gov.vn with ESMTPS id %08x\n\tfor <an.nv@vinhyen.gov.vn>; %s\n",
		i%250, i%200+1, rng.Uint32(), date.Format(time.RFC1123Z))
	buf = fmt.Appendf(buf, "Date: %s\nFrom: %s <user%d@vinhyen.gov.vn>\nTo: =?UTF-8?B?%s?= <an.nv@vinhyen.gov.vn>\n",
		date.Format(time.RFC1123Z), encodedWord(from), i%97, base64.StdEncoding.EncodeToString([]byte("Nguyễn Văn An")))
	buf = fmt.Appendf(buf, "Subject: %s\nMessage-ID: <%d.%08x@bench.vinhyen.gov.vn>\nMIME-Version: 1.0\n",
		encodedWord(subject), i, rng.Uint32())
	if i%4 != 3 {
		buf = append(buf, "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"...)
		return corpusText(buf, rng, corpusMessageSize-(len(buf)-start))
	}
	boundary := fmt.Sprintf("=_part_%d", i)
	buf = fmt.Appendf(buf, "Content-Type: multipart/mixed; boundary=\"%s\"\n\nThis is a multi-part message in MIME format.\n"+
		"--%s\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n", boundary, boundary)
	buf = corpusText(buf, rng, 10<<10)
	buf = fmt.Appendf(buf, "--%s\nContent-Type: application/pdf; name=\"=?UTF-8?B?%s?=\"\n"+
		"Content-Disposition: attachment; filename*=utf-8''Bao%%20cao%%20s%%E1%%BB%%91%%20%d.pdf\n"+
		"Content-Transfer-Encoding: base64\n\n", boundary,
		base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("Báo cáo số %d.pdf", i))), i)
	raw := make([]byte, 57)
	for range 160 { // 160 lines of 76 characters: 9,120 bytes of base64
		for j := range raw {
			raw[j] = byte(rng.Uint32())
		}
		buf = base64.StdEncoding.AppendEncode(buf, raw)
		buf = append(buf, '\n')
	}
	return fmt.Appendf(buf, "--%s--\n", boundary)
}

// corpusText appends about size bytes of Vietnamese prose in lines of at most 76 bytes; no line starts with "From ".
func corpusText(buf []byte, rng *rand.Rand, size int) []byte {
	end := len(buf) + size
	line := 0
	for len(buf) < end {
		w := corpusWords[rng.IntN(len(corpusWords))]
		if line+len(w)+1 > 76 {
			buf = append(buf, ".\n"...)
			line = 0
		}
		if line > 0 {
			buf = append(buf, ' ')
			line++
		}
		buf = append(buf, w...)
		line += len(w)
	}
	return append(buf, ".\n"...)
}

func encodedWord(s string) string {
	return "=?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?="
}

// corpusDate spreads the messages over 2019–2025, in order.
func corpusDate(i int) time.Time {
	return time.Date(2019, 1, 1, 8, 0, 0, 0, time.FixedZone("ICT", 7*3600)).Add(time.Duration(i) * 17 * time.Minute)
}

// writeCorpusMbox writes messages from..to-1 to an mbox file.
func writeCorpusMbox(path string, from, to int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var buf []byte
	for i := from; i < to; i++ {
		buf = fmt.Appendf(buf[:0], "From user%d@vinhyen.gov.vn %s\n", i%97, corpusDate(i).UTC().Format(time.ANSIC))
		buf = corpusMessage(buf, i)
		buf = append(buf, '\n')
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeCorpusMaildir writes messages 0..n-1 into the cur folder of a new Maildir, half of them seen.
func writeCorpusMaildir(dir string, n int) error {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return err
		}
	}
	var buf []byte
	for i := range n {
		buf = corpusMessage(buf[:0], i)
		flags := ""
		if i%2 == 0 {
			flags = "S"
		}
		name := strconv.FormatInt(corpusDate(i).Unix(), 10) + ".M" + strconv.Itoa(i) + "P1.bench,S=" +
			strconv.Itoa(len(buf)) + ":2," + flags
		path := filepath.Join(dir, "cur", name)
		if err := os.WriteFile(path, buf, 0o600); err != nil {
			return err
		}
		if err := os.Chtimes(path, corpusDate(i), corpusDate(i)); err != nil {
			return err
		}
	}
	return nil
}
