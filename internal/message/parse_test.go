package message

import (
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// view is the golden-file form of a parse result.
type view struct {
	Envelope      *imap.Envelope
	Date          string
	Root          *Part
	HeaderText    string
	BodyText      string
	BodyStructure imap.BodyStructure
	MetaBytes     int
}

func TestParseGolden(t *testing.T) {
	inputs := maps.Clone(corpus)
	inputs["mailbench-20KiB"] = string(mailbenchMessage(t))
	for name, raw := range inputs {
		t.Run(name, func(t *testing.T) {
			p := Parse([]byte(raw))
			checkStructure(t, []byte(raw), p.Root)
			v := view{
				Envelope: p.Envelope, Root: p.Root, HeaderText: p.HeaderText, BodyText: p.BodyText,
				BodyStructure: p.ToMeta().BodyStructure(true), MetaBytes: len(p.Meta()),
			}
			if !p.Date.IsZero() {
				v.Date = p.Date.Format(time.RFC3339)
			}
			got, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "golden", name+".json"), got)
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the result (go test -update rewrites it):\n%s", path, got)
	}
}

// checkStructure asserts the invariants FETCH relies on: offsets nested and
// in range, no multipart without children, message parts complete.
func checkStructure(t *testing.T, raw []byte, root *Part) {
	t.Helper()
	var walk func(p *Part, lo, hi int64)
	walk = func(p *Part, lo, hi int64) {
		if !(lo <= p.HeaderStart && p.HeaderStart <= p.BodyStart && p.BodyStart <= p.End && p.End <= hi) {
			t.Fatalf("bad offsets %d %d %d outside [%d,%d]", p.HeaderStart, p.BodyStart, p.End, lo, hi)
		}
		if p.Type == "multipart" && len(p.Children) == 0 {
			t.Fatalf("multipart/%s without children", p.Subtype)
		}
		if p.Type == "" || p.Subtype == "" || p.Encoding == "" {
			t.Fatalf("empty type or encoding: %+v", p)
		}
		if (p.Message == nil) != (p.Envelope == nil) {
			t.Fatalf("message part without envelope or root")
		}
		for _, c := range p.Children {
			walk(c, p.BodyStart, p.End)
		}
		if p.Message != nil {
			walk(p.Message, p.BodyStart, p.End)
		}
	}
	walk(root, 0, int64(len(raw)))
	checkBodyStructure(t, (&Meta{Root: root}).BodyStructure(true))
}

func checkBodyStructure(t *testing.T, bs imap.BodyStructure) {
	t.Helper()
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		if len(bs.Children) == 0 || bs.Extended == nil {
			t.Fatalf("multipart without children or extension data")
		}
		for _, c := range bs.Children {
			checkBodyStructure(t, c)
		}
	case *imap.BodyStructureSinglePart:
		if bs.Extended == nil {
			t.Fatalf("single part without extension data")
		}
		if bs.MessageRFC822 != nil {
			if bs.MessageRFC822.Envelope == nil {
				t.Fatalf("message/rfc822 without envelope")
			}
			checkBodyStructure(t, bs.MessageRFC822.BodyStructure)
		}
	default:
		t.Fatalf("unexpected body structure %T", bs)
	}
}

func TestParseVietnamese(t *testing.T) {
	p := Parse([]byte(corpus["valid-multipart-vi"]))
	env := p.Envelope
	if env.Subject != "Báo cáo TỔNG KẾT" {
		t.Errorf("subject %q", env.Subject)
	}
	if len(env.From) != 1 || env.From[0].Name != "Nguyễn Văn An" || env.From[0].Addr() != "an@hanoi.gov.vn" {
		t.Errorf("from %+v", env.From)
	}
	if len(env.To) != 1 || env.To[0].Name != "Trần Thị Bình" {
		t.Errorf("to %+v", env.To)
	}
	if !slices.Equal(env.InReplyTo, []string{"x1@hanoi.gov.vn", "x2@hanoi.gov.vn"}) || env.MessageID != "vi.1@hanoi.gov.vn" {
		t.Errorf("ids %q %q", env.InReplyTo, env.MessageID)
	}
	if len(env.Sender) != 1 || len(env.ReplyTo) != 1 {
		t.Errorf("sender/reply-to should default to from: %+v %+v", env.Sender, env.ReplyTo)
	}
	root := p.Root
	if len(root.Children) != 3 || len(root.Children[0].Children) != 2 {
		t.Fatalf("structure: %d children", len(root.Children))
	}
	pdf, doc := root.Children[1], root.Children[2]
	if got := pdf.DispositionParams["filename"]; got != "Báo cáo tổng kết.pdf" {
		t.Errorf("RFC 2231 UTF-8 filename %q", got)
	}
	if got := pdf.Params["name"]; got != "Báo cáo.pdf" {
		t.Errorf("RFC 2047 name %q", got)
	}
	if pdf.Description != "Tài liệu" || !slices.Equal(pdf.Language, []string{"vi", "en"}) {
		t.Errorf("description %q language %q", pdf.Description, pdf.Language)
	}
	if got := doc.DispositionParams["filename"]; got != "Đăng ký .doc" {
		t.Errorf("RFC 2231 windows-1258 filename %q", got)
	}
	for _, want := range []string{"kinh gui anh chi", "bao cao tong ket nam", "bao cao tong ket.pdf", "dang ky .doc"} {
		if !strings.Contains(p.BodyText, want) {
			t.Errorf("BodyText lacks %q:\n%s", want, p.BodyText)
		}
	}
	if strings.Contains(p.BodyText, "color") || strings.Contains(p.BodyText, "<") {
		t.Errorf("HTML not stripped:\n%s", p.BodyText)
	}
	for _, want := range []string{"bao cao tong ket", "nguyen van an <an@hanoi.gov.vn>", "tran thi binh"} {
		if !strings.Contains(p.HeaderText, want) {
			t.Errorf("HeaderText lacks %q:\n%s", want, p.HeaderText)
		}
	}
}

func TestParseWindows1258(t *testing.T) {
	p := Parse([]byte(corpus["valid-windows-1258"]))
	if p.Envelope.Subject != "Báo cáo tổng kết" {
		t.Errorf("subject %q (want NFC)", p.Envelope.Subject)
	}
	if want := "bao cao tong ket. dang ky dien thoai"; p.BodyText != want {
		t.Errorf("BodyText %q, want %q", p.BodyText, want)
	}
	if p.Root.Lines != 1 {
		t.Errorf("lines %d", p.Root.Lines)
	}
}

func TestParseMalformed(t *testing.T) {
	p := Parse([]byte(corpus["zero-parts"]))
	if r := p.Root; r.Type != "text" || r.Subtype != "plain" || len(r.Children) != 0 || r.Lines != 1 {
		t.Errorf("zero-part multipart: %+v", r)
	}
	if !strings.Contains(p.BodyText, "there is no delimiter") {
		t.Errorf("BodyText %q", p.BodyText)
	}

	p = Parse([]byte(corpus["bad-addresses"]))
	var got []string
	for _, a := range p.Envelope.To {
		got = append(got, a.Name+"|"+a.Addr())
	}
	// undisclosed-recipients:; is an empty group: its start and end markers (RFC 3501 7.4.2) have no address.
	want := []string{"|good@x.vn", "Nguyễn An|an@x.vn", "|", "|", "Bad Name|bad@x.vn", "|raw@y.vn"}
	if !slices.Equal(got, want) {
		t.Errorf("To %q, want %q", got, want)
	}
	if len(p.Envelope.From) != 1 || p.Envelope.From[0].Addr() != "from@x.vn" {
		t.Errorf("From %+v", p.Envelope.From)
	}
	if p.Envelope.Cc != nil {
		t.Errorf("Cc %+v", p.Envelope.Cc)
	}

	p = Parse([]byte(corpus["bare-lf"]))
	if len(p.Root.Children) != 2 || p.Root.Children[0].Lines != 1 {
		t.Fatalf("bare LF structure %+v", p.Root)
	}
	if !strings.Contains(p.BodyText, "line one line two") || !strings.Contains(p.BodyText, "xin chao") {
		t.Errorf("bare LF text %q", p.BodyText)
	}
}

func TestParseEmbedded(t *testing.T) {
	p := Parse([]byte(corpus["valid-rfc822"]))
	msg := p.Root.Children[1]
	if msg.Message == nil || msg.Envelope.Subject != "Đề xuất" || msg.Envelope.From[0].Name != "Lê Văn D" {
		t.Fatalf("embedded message %+v", msg)
	}
	if msg.Message.Subtype != "alternative" || len(msg.Message.Children) != 2 {
		t.Errorf("embedded structure %+v", msg.Message)
	}
	if !strings.Contains(p.BodyText, "de xuat kinh phi") {
		t.Errorf("BodyText %q", p.BodyText)
	}
	d := Parse([]byte(corpus["valid-digest"]))
	for _, c := range d.Root.Children {
		if c.Type != "message" || c.Subtype != "rfc822" || c.Message == nil {
			t.Errorf("digest child %s/%s", c.Type, c.Subtype)
		}
	}
}
