package message

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// vietnameseSamples are Vietnamese texts as they come in official mail: addresses, numbers of documents,
// names, capitals, typographic punctuation, amounts in đồng, and the rarer vowel groups.
var vietnameseSamples = []string{
	"Kính gửi: Ủy ban nhân dân tỉnh Thừa Thiên Huế",
	"Số: 123/QĐ-UBND ngày 15 tháng 3 năm 2026 về việc phê duyệt kế hoạch triển khai",
	"Nguyễn Văn An, Trần Thị Bích Ngọc, Lê Hoàng Quỳnh, Phạm Đức Dũng, Dương Thị Uyên",
	"BÁO CÁO TỔNG KẾT CÔNG TÁC NĂM 2026 CỦA SỞ NỘI VỤ",
	"Đề nghị “chuyển khoản” – 1.500.000₫ trước ngày 20… Xin cảm ơn.",
	"Người được giao nhiệm vụ khuyến khích, hướng dẫn; khuya rồi, xoay quanh chuyện rượu và khuỷu tay.",
	"Thuở ấy, giữa mùa xuân, gìn giữ hòa bình, quyết định hoặc thuê nhà ở phường Đống Đa, Hà Nội.\r\n" +
		"Điện thoại: 0243 812 345 – ĐT/Fax – email: vanthu@hanoi.gov.vn",
}

// encodeWindows1258 writes s as Windows writes Vietnamese in windows-1258: a letter that the code page has
// precomposed as one byte, and any other letter as its base (with circumflex, breve or horn, which the code page
// has) followed by its tone as a combining mark. With decomposeTones every tone is written as a combining mark,
// as some mailers do even where a precomposed letter exists.
func encodeWindows1258(t *testing.T, s string, decomposeTones bool) []byte {
	t.Helper()
	var out []byte
	for _, r := range norm.NFC.String(s) {
		if b, ok := charmap.Windows1258.EncodeRune(r); ok && (!decomposeTones || r < 0x80 || !isToned(r)) {
			out = append(out, b)
			continue
		}
		var base, tones []rune
		for _, m := range norm.NFD.String(string(r)) {
			if strings.ContainsRune("\u0300\u0301\u0303\u0309\u0323", m) {
				tones = append(tones, m)
			} else {
				base = append(base, m)
			}
		}
		for _, c := range []rune(norm.NFC.String(string(base)) + string(tones)) {
			b, ok := charmap.Windows1258.EncodeRune(c)
			if !ok {
				t.Fatalf("%q cannot be written in windows-1258", c)
			}
			out = append(out, b)
		}
	}
	return out
}

func isToned(r rune) bool {
	v, ok := vowels[[]rune(strings.ToLower(string(r)))[0]]
	return ok && v.toned
}

func TestWindows1258TextVietnamese(t *testing.T) {
	samples := append([]string{"Báo cáo tổng kết. Đăng ký điện thoại"}, vietnameseSamples...)
	for _, s := range samples {
		for _, decompose := range []bool{false, true} {
			b := encodeWindows1258(t, s, decompose)
			got, ok := windows1258Text(b)
			if want := norm.NFC.String(s); !ok || got != want {
				t.Errorf("windows1258Text(%q) (tones decomposed: %v) = %q, %v; want %q", b, decompose, got, ok, want)
			}
		}
	}
	if got, ok := windows1258Text([]byte(w1258)); !ok || got != "Báo cáo tổng kết. Đăng ký điện thoại" {
		t.Errorf("the corpus sample: %q, %v", got, ok)
	}
}

// TestWindows1258TextOthers: 8-bit text in other charsets, UTF-8 and random bytes are not taken for Vietnamese,
// nor is Vietnamese that gives no evidence or has a foreign word.
func TestWindows1258TextOthers(t *testing.T) {
	latin1 := func(s string) []byte {
		b, err := charmap.ISO8859_1.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cp1252 := func(s string) []byte {
		b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	others := map[string][]byte{
		"French":            latin1("Le café est prêt à être servi. Ça va très bien, où êtes-vous ?"),
		"French short":      latin1("café"),
		"German":            latin1("Grüße aus München, schöne Straße"),
		"Portuguese":        latin1("Não há informações sobre a mãe em São Paulo"),
		"Portuguese ã only": latin1("A mãe não vem"),
		"Icelandic":         latin1("Það er gott, með kveðju"),
		"Icelandic ð":       latin1("með kveðju"),
		"Italian":           latin1("Così può andare, però è tardi"),
		"Spanish":           latin1("Mañana él irá a la reunión"),
		"Ò and Ì":           latin1("ÒÌ"),
		"windows-1252":      cp1252("He said “fine” – it’s done… for 20€"),
		"UTF-8 Vietnamese":  []byte("Báo cáo tổng kết. Đăng ký điện thoại"),
		"ASCII":             []byte("Bao cao tong ket"),
		"no evidence":       encodeWindows1258(t, "Chào anh", false),
		"foreign word":      encodeWindows1258(t, "Đăng ký với ông René Müller", false),
		"stray tone mark":   []byte("\xd0\xe3ng \xec k\xfd"),
		"two tones":         []byte("\xd0\xe3ng ky\xec\xf2"),
		"undefined byte":    []byte("\xd0\xe3ng \x81"),
		"þ in a word":       []byte("\xd0\xe3ng \xfeetta"),
	}
	for name, b := range others {
		if got, ok := windows1258Text(b); ok {
			t.Errorf("%s: windows1258Text(%q) = %q, true", name, b, got)
		}
	}
	rng := rand.New(rand.NewPCG(1258, 1))
	for i := range 2000 {
		b := make([]byte, 8+rng.IntN(120))
		for j := range b {
			b[j] = byte(0x20 + rng.IntN(0xe0))
		}
		if got, ok := windows1258Text(b); ok {
			t.Errorf("random sample %d: windows1258Text(%q) = %q, true", i, b, got)
		}
	}
}

func TestVietnameseSyllable(t *testing.T) {
	for _, s := range []string{"nguyên", "ngươi", "đươc", "gin", "gi", "quyêt", "khuya", "khuyu", "hoăc", "xoong",
		"thuơ", "oanh", "uyên", "yêu", "a", "ưng", "nghiêng", "giưa", "huynh", "khuêch"} {
		if !vietnameseSyllable(s) {
			t.Errorf("vietnameseSyllable(%q) = false", s)
		}
	}
	for _, s := range []string{"năo", "lă", "cafe", "eđ", "ươ", "taim", "fa", "străng", "iê", "bcd"} {
		if vietnameseSyllable(s) {
			t.Errorf("vietnameseSyllable(%q) = true", s)
		}
	}
}

// TestUnlabelledWindows1258Message: a message whose text is windows-1258 without a charset label (no
// Content-Type, no charset, or us-ascii) shows its Vietnamese subject, sender name and body in the ENVELOPE and
// the search text. The subject has no byte that only Vietnamese reads so (rule 2 of windows1258Text): it is read
// in the charset the body was read in, as labelled mail is. BODYSTRUCTURE still says what the message says.
func TestUnlabelledWindows1258Message(t *testing.T) {
	subject := encodeWindows1258(t, "Báo cáo tháng", false)
	from := encodeWindows1258(t, "Nguyễn Văn An", false)
	body := encodeWindows1258(t, vietnameseSamples[1]+"\r\n"+vietnameseSamples[5], false)
	for name, contentType := range map[string]string{
		"no Content-Type": "",
		"no charset":      "Content-Type: text/plain\r\n",
		"us-ascii":        "Content-Type: text/plain; charset=us-ascii\r\n",
		"multipart":       "Content-Type: multipart/alternative; boundary=b\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			text := string(body) + "\r\n"
			if name == "multipart" {
				text = "--b\r\nContent-Type: text/plain\r\n\r\n" + text + "--b\r\nContent-Type: text/html\r\n\r\n<p>" +
					string(body) + "</p>\r\n--b--\r\n"
			}
			raw := "From: " + string(from) + " <an@hue.gov.vn>\r\nTo: vanthu@hue.gov.vn\r\nSubject: " + string(subject) +
				"\r\n" + contentType + "\r\n" + text
			p := Parse([]byte(raw))
			if p.Envelope.Subject != "Báo cáo tháng" {
				t.Errorf("Subject = %q", p.Envelope.Subject)
			}
			if len(p.Envelope.From) != 1 || p.Envelope.From[0].Name != "Nguyễn Văn An" {
				t.Errorf("From = %+v", p.Envelope.From)
			}
			for _, want := range []string{"so: 123/qd-ubnd ngay 15 thang 3", "khuyen khich, huong dan; khuya roi"} {
				if !strings.Contains(p.BodyText, want) {
					t.Errorf("BodyText %q lacks %q", p.BodyText, want)
				}
			}
			for _, want := range []string{"bao cao thang", "nguyen van an <an@hue.gov.vn>"} {
				if !strings.Contains(p.HeaderText, want) {
					t.Errorf("HeaderText %q lacks %q", p.HeaderText, want)
				}
			}
			if strings.Contains(p.BodyText+p.HeaderText, "\uFFFD") {
				t.Errorf("U+FFFD in the search text: %q", p.HeaderText+"\n"+p.BodyText)
			}
			leaf := p.Root
			if len(leaf.Children) > 0 {
				leaf = leaf.Children[0]
			}
			if cs := leaf.Params["charset"]; cs != "" && cs != "us-ascii" {
				t.Errorf("BODYSTRUCTURE charset %q, want the message's own", cs)
			}
			assertRoundTrip(t, p)
		})
	}
}

// TestUnlabelledOther8bit: unlabelled 8-bit text that is not Vietnamese is shown as before (U+FFFD for its
// 8-bit bytes), and a raw 8-bit header field is judged on its own when the body gives no charset.
func TestUnlabelledOther8bit(t *testing.T) {
	p := Parse([]byte("Subject: Le caf\xe9 est pr\xeat\r\nFrom: Ren\xe9 <rene@paris.fr>\r\n\r\nGr\xfc\xdfe aus M\xfcnchen\r\n"))
	if p.Envelope.Subject != "Le caf\uFFFD est pr\uFFFDt" || p.Envelope.From[0].Name != "Ren\uFFFD" {
		t.Errorf("ENVELOPE subject %q, from %+v", p.Envelope.Subject, p.Envelope.From)
	}
	if want := Fold("Gr\uFFFD\uFFFDe aus M\uFFFDnchen"); p.BodyText != want {
		t.Errorf("BodyText %q, want %q", p.BodyText, want)
	}
	subject := encodeWindows1258(t, "Đăng ký học tập", false)
	p = Parse([]byte("Subject: " + string(subject) + "\r\n\r\nplain ASCII body\r\n"))
	if p.Envelope.Subject != "Đăng ký học tập" || !strings.Contains(p.HeaderText, "dang ky hoc tap") {
		t.Errorf("Subject %q, HeaderText %q", p.Envelope.Subject, p.HeaderText)
	}
	if got := DecodeHeaderValue(string(subject)); got != "Đăng ký học tập" {
		t.Errorf("DecodeHeaderValue = %q", got)
	}
}

// FuzzWindows1258Text: any input gives valid NFC UTF-8 without U+FFFD when it is taken for Vietnamese, and
// valid UTF-8 is never taken.
//
//	go test -run '^$' -fuzz FuzzWindows1258Text ./internal/message/
func FuzzWindows1258Text(f *testing.F) {
	f.Add([]byte(w1258))
	f.Add([]byte("Gr\xfc\xdfe"))
	f.Fuzz(func(t *testing.T, b []byte) {
		text, ok := windows1258Text(b)
		if !ok {
			return
		}
		if utf8.Valid(b) || !utf8.ValidString(text) || !norm.NFC.IsNormalString(text) || strings.ContainsRune(text, utf8.RuneError) {
			t.Fatalf("windows1258Text(%q) = %q", b, text)
		}
	})
}
