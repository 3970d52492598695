package message

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

const colleague = "an.nv@vinhyen.gov.vn"

// displayNameSeeds are From field values whose display names show a colleague's address in the ways a forger can
// write it, and ones that show none; the fuzz target starts from them too.
var displayNameSeeds = []struct {
	name, field string
	want        []DisplayedMailbox
}{
	{"plain", "an.nv@vinhyen.gov.vn <binh.tt@vinhyen.gov.vn>",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"quoted", `"an.nv@vinhyen.gov.vn" <binh.tt@vinhyen.gov.vn>`,
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"utf-8 encoded word", "=?UTF-8?Q?an=2Env=40vinhyen=2Egov=2Evn?= <binh.tt@vinhyen.gov.vn>",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"quoted encoded word", `"=?utf-8?b?YW4ubnZAdmluaHllbi5nb3Yudm4=?=" <binh.tt@vinhyen.gov.vn>`,
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"windows-1258 encoded word", "=?windows-1258?Q?Nguy=EA=CC=83n_an=2Env=40vinhyen=2Egov=2Evn?= <binh.tt@vinhyen.gov.vn>",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"iso-8859-1 encoded word", "=?ISO-8859-1?Q?an=2Env=40vinhyen=2Egov=2Evn?= <binh.tt@vinhyen.gov.vn>",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"encoded twice", "=?utf-8?q?=3D=3Futf-8=3Fq=3Fan=2Env=3D40vinhyen=2Egov=2Evn=3F=3D?= <binh.tt@vinhyen.gov.vn>",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"fullwidth at", "\"an.nv＠vinhyen.gov.vn\" <binh.tt@vinhyen.gov.vn>",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"small at and fullwidth dot", "\"an.nv﹫vinhyen．gov．vn\" <binh.tt@vinhyen.gov.vn>",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"fullwidth letters", "\"ａｎ.ｎｖ＠ｖｉｎｈｙｅｎ.ｇｏｖ.ｖｎ\" <binh.tt@vinhyen.gov.vn>",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"zero-width space", "\"an.nv@vinh\u200byen.gov.vn\" <binh.tt@vinhyen.gov.vn>",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"hangul filler", "\"an.nv@vinhyen\u3164.gov.vn\" <binh.tt@vinhyen.gov.vn>",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"right-to-left override", "\"an@\u202env.vog.neyhniv\u202c\" <binh.tt@vinhyen.gov.vn>",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{"an@nv.vog.neyhniv", "an@vinhyen.gov.vn"}}}},
	{"blanks around the at sign", "\"an.nv @ vinhyen.gov.vn\" <binh.tt@vinhyen.gov.vn>",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"quoted pair", `"an.nv\@vinhyen.gov.vn" <binh.tt@vinhyen.gov.vn>`,
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"comment", "binh.tt@vinhyen.gov.vn (an.nv@vinhyen.gov.vn)",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"comment inside the phrase", "Binh (an.nv@vinhyen.gov.vn) <binh.tt@vinhyen.gov.vn>",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"group name", "an.nv@vinhyen.gov.vn: binh.tt@vinhyen.gov.vn;",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"phrase before a bare address", "\"an.nv@vinhyen.gov.vn\" binh.tt@vinhyen.gov.vn",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
	{"mailing list", "\"an.nv@vinhyen.gov.vn via Cong van\" <list@lists.example>",
		[]DisplayedMailbox{{"list@lists.example", []string{colleague}}}},
	{"second mailbox", "Binh <binh.tt@vinhyen.gov.vn>, \"an.nv@vinhyen.gov.vn\" <chi@vinhyen.gov.vn>",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", nil}, {"chi@vinhyen.gov.vn", []string{colleague}}}},
	{"own address", `"binh.tt@vinhyen.gov.vn" <binh.tt@vinhyen.gov.vn>`,
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{"binh.tt@vinhyen.gov.vn"}}}},
	{"vietnamese name", "=?utf-8?q?Tr=E1=BA=A7n_Thanh_B=C3=ACnh?= <binh.tt@vinhyen.gov.vn>",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", nil}}},
	{"at sign in a name", "\"Binh @ So Noi vu\" <binh.tt@vinhyen.gov.vn>",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", nil}}},
	{"numeric top level", "\"binh@192.168.1.7\" <binh.tt@vinhyen.gov.vn>",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", nil}}},
	{"bare address", "binh.tt@vinhyen.gov.vn", []DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", nil}}},
	{"quoted local part", `"binh.tt"@vinhyen.gov.vn`, []DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", nil}}},
	{"empty group", "an.nv@vinhyen.gov.vn:;", []DisplayedMailbox{{"", []string{colleague}}}},
	{"unclosed bracket", "\"an.nv@vinhyen.gov.vn\" <binh.tt@vinhyen.gov.vn",
		[]DisplayedMailbox{{"binh.tt@vinhyen.gov.vn", []string{colleague}}}},
}

func TestDisplayedAddresses(t *testing.T) {
	for _, tt := range displayNameSeeds {
		if got := DisplayedAddresses(tt.field); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: DisplayedAddresses(%q) =\n%q\nwant\n%q", tt.name, tt.field, got, tt.want)
		}
	}
}

func TestNewestResentBlock(t *testing.T) {
	header := "Date: Mon, 1 Jun 2026 08:00:00 +0700\r\n" +
		"Resent-From: an@hanoi.gov.vn\r\n" +
		"X-Mailer: x\r\n" +
		"resent-sender: An\r\n <an@hanoi.gov.vn>\r\n" +
		"Received: from a by b; Mon, 1 Jun 2026 07:00:00 +0700\r\n" +
		"Resent-From: binh@hanoi.gov.vn\r\n" +
		"From: chi@hanoi.gov.vn\r\n\r\nResent-From: body@hanoi.gov.vn\r\n"
	want := []HeaderField{{"Resent-From", "an@hanoi.gov.vn"}, {"resent-sender", "An <an@hanoi.gov.vn>"}}
	if got := NewestResentBlock([]byte(header)); !reflect.DeepEqual(got, want) {
		t.Errorf("NewestResentBlock = %q, want %q", got, want)
	}
	if got := NewestResentBlock([]byte("Received: x\r\nFrom: a@b.vn\r\n\r\n")); got != nil {
		t.Errorf("NewestResentBlock without resent fields = %q", got)
	}
}

// FuzzDisplayedAddresses: whatever the field, DisplayedAddresses does not panic, and every address it says a
// mailbox shows has the form local@domain.tld, folded and without blanks or invisible characters, and is shown
// again when written on its own as a display name.
//
//	go test -run '^$' -fuzz FuzzDisplayedAddresses ./internal/message/
func FuzzDisplayedAddresses(f *testing.F) {
	for _, tt := range displayNameSeeds {
		f.Add(tt.field)
	}
	f.Fuzz(func(t *testing.T, field string) {
		for _, m := range DisplayedAddresses(field) {
			for _, a := range m.Shown {
				checkShownAddress(t, a)
			}
		}
	})
}

func checkShownAddress(t *testing.T, a string) {
	t.Helper()
	local, domain, ok := strings.Cut(a, "@")
	if !ok || local == "" || !isShownDomain(domain) || strings.ContainsRune(domain, '@') {
		t.Fatalf("shown %q is not local@domain.tld", a)
	}
	if !utf8.ValidString(a) || !norm.NFKC.IsNormalString(a) {
		t.Fatalf("shown %q is not folded UTF-8", a)
	}
	for _, r := range a {
		if unicode.IsSpace(r) || isInvisible(r) || r == '"' || r == '\\' {
			t.Fatalf("shown %q holds %U", a, r)
		}
	}
	if strings.Contains(a, "=?") {
		return // an encoded word of its own: written alone, it would be decoded
	}
	again := DisplayedAddresses(`"` + a + `" <x@y.example>`)
	if len(again) != 1 || len(again[0].Shown) == 0 {
		t.Fatalf("%q shows %q, but not when written alone (%q)", a, a, again)
	}
}
