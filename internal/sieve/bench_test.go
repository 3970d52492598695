package sieve

import (
	"os"
	"strings"
	"testing"
)

type benchMessage struct{ fields map[string][]string }

func (m benchMessage) HeaderValues(name string) []string { return m.fields[strings.ToLower(name)] }
func (m benchMessage) Size() int64                       { return 20480 }
func (m benchMessage) BodyText() string                  { return "" }
func (m benchMessage) RawBody() []byte                   { return nil }

// BenchmarkRun50Rules runs testdata/rules50.sieve, the script of the delivery benchmark in docs/benchmarks.md
// (fifty rules, none matching), on a message of the kind mailbench sends.
func BenchmarkRun50Rules(b *testing.B) {
	src, err := os.ReadFile("testdata/rules50.sieve")
	if err != nil {
		b.Fatal(err)
	}
	s, err := Compile(src, Options{})
	if err != nil {
		b.Fatal(err)
	}
	msg := benchMessage{fields: map[string][]string{
		"subject": {"Báo cáo tình hình thực hiện kế hoạch tháng 12 năm 2026 của Sở Nội vụ"},
		"from":    {"Văn thư <vanthu@example.gov.vn>"}, "to": {"user1@example.gov.vn"}}}
	env := Envelope{From: "vanthu@example.gov.vn", To: "user1@example.gov.vn"}
	b.ReportAllocs()
	for b.Loop() {
		res, err := s.Run(msg, env, RunOptions{})
		if err != nil || !res.ImplicitKeep {
			b.Fatalf("%+v, %v: the message should be kept", res, err)
		}
	}
}
