package message

import (
	"fmt"
	"strings"
	"testing"
)

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
