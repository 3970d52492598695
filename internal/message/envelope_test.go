package message

import (
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// AddressDomains finds the hosts the ENVELOPE shows for a field, net/mail's rejects included.
func TestAddressDomains(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  []string
	}{
		{"Van thu <vanthu@a.gov.vn>", []string{"a.gov.vn"}},
		{"x@c.gov.vn, =?UTF-8?Q?V=C4=83n?= <vanthu@a.gov.vn>", []string{"c.gov.vn", "a.gov.vn"}},
		{"Director <director@a.gov.vn", []string{"a.gov.vn"}},
		{"X <x@a.gov.vn>, <", []string{"a.gov.vn"}},
		{"Gi\xe1m \xf0\xe1c <director@a.gov.vn>", []string{"a.gov.vn"}},
		{"undisclosed-recipients:;", []string{}},
		{"<<<", []string{}},
		{"", []string{}},
	} {
		got := AddressDomains(tc.value)
		if !slices.Equal(got, tc.want) {
			t.Errorf("AddressDomains(%q) = %q, want %q", tc.value, got, tc.want)
		}
		var shown []string
		for _, a := range Parse([]byte("From: " + tc.value + "\r\n\r\nbody\r\n")).Envelope.From {
			shown = append(shown, a.Host)
		}
		if !slices.Equal(got, shown) && len(got)+len(shown) > 0 {
			t.Errorf("AddressDomains(%q) = %q, the ENVELOPE shows %q", tc.value, got, shown)
		}
	}
}

// Many mailers quote a display name that is an encoded word; net/mail leaves it encoded, and the ENVELOPE (what
// clients list and SEARCH FROM matches) must carry the name itself.
func TestQuotedEncodedDisplayName(t *testing.T) {
	raw := "From: \"=?UTF-8?B?Tmd1eeG7hW4gVsSDbiBBbg==?=\" <an@hanoi.gov.vn>\r\n" +
		"To: \"=?utf-8?q?Tr=E1=BA=A7n_Th=E1=BB=8B_B=C3=ACnh?=\" <binh@hanoi.gov.vn>, chi@hanoi.gov.vn\r\n" +
		"Subject: x\r\n\r\nbody\r\n"
	env := Parse([]byte(raw)).Envelope
	if len(env.From) != 1 || env.From[0].Name != "Nguyễn Văn An" {
		t.Errorf("From = %+v, want the name Nguyễn Văn An", env.From)
	}
	if len(env.To) != 2 || env.To[0].Name != "Trần Thị Bình" || env.To[1].Name != "" {
		t.Errorf("To = %+v, want Trần Thị Bình and an address without a name", env.To)
	}
}

// Old Vietnamese mailers label windows-1258 as x-windows-1258: the text must still be decoded, and found.
func TestXPrefixedCharset(t *testing.T) {
	raw := "From: vanthu@hue.gov.vn\r\nSubject: =?x-windows-1258?Q?B=E1o_c=E1o?=\r\n" +
		"Content-Type: text/plain; charset=x-windows-1258\r\n\r\n" + w1258 + "\r\n"
	p := Parse([]byte(raw))
	if p.Envelope.Subject != "Báo cáo" {
		t.Errorf("Subject = %q, want Báo cáo", p.Envelope.Subject)
	}
	if text := string(p.SearchText()); !strings.Contains(text, "bao cao tong ket") || !strings.Contains(text, "dang ky") {
		t.Errorf("search text %q lacks the folded body", text)
	}
}

// TestEnvelopeGroups: groups in To, Cc, Bcc and Reply-To appear in RFC 3501's group syntax (7.4.2): a start marker
// with the name and no host, the members, an end marker with neither mailbox nor host; empty groups too. The
// stored meta keeps them.
func TestEnvelopeGroups(t *testing.T) {
	group := func(name string) imap.Address { return imap.Address{Mailbox: name} }
	end := imap.Address{}
	addr := func(mailbox, host string) imap.Address { return imap.Address{Mailbox: mailbox, Host: host} }
	for _, tc := range []struct {
		value string
		want  []imap.Address
	}{
		{"group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;",
			[]imap.Address{group("group"), addr("g1", "d1.org"), addr("g2", "d2.org"), end, group("group2"), addr("g3", "d3.org"), end}},
		{"group:;, group2: (foo) ;", []imap.Address{group("group"), end, group("group2"), end}},
		{"undisclosed-recipients:;", []imap.Address{group("undisclosed-recipients"), end}},
		{`a@x.vn, "Phòng Nội vụ": b@y.vn; c@z.vn`,
			[]imap.Address{addr("a", "x.vn"), group("Phòng Nội vụ"), addr("b", "y.vn"), end, addr("c", "z.vn")}},
		{"Undisclosed: a@b.vn, <@route:c@d.vn>", []imap.Address{group("Undisclosed"), addr("a", "b.vn"), {ADL: "@route", Mailbox: "c", Host: "d.vn"}, end}},
	} {
		raw := "From: an@hue.gov.vn\r\nTo: " + tc.value + "\r\nCc: " + tc.value + "\r\n\r\nbody\r\n"
		p := Parse([]byte(raw))
		meta, err := DecodeMeta(p.Meta())
		if err != nil {
			t.Fatal(err)
		}
		for _, env := range []*imap.Envelope{p.Envelope, meta.Envelope} {
			if !slices.Equal(env.To, tc.want) || !slices.Equal(env.Cc, tc.want) {
				t.Errorf("To: %s\ngot  %+v\nwant %+v", tc.value, env.To, tc.want)
			}
		}
	}
}

// TestAddressComments: comments inside an address, which RFC 5322 allows around the '@', do not lose it.
func TestAddressComments(t *testing.T) {
	for _, value := range []string{"<user (comment)@ (comment) domain.vn>", "user(comment)@domain.vn", "user@domain.vn (comment)"} {
		env := Parse([]byte("From: " + value + "\r\n\r\nbody\r\n")).Envelope
		if len(env.From) != 1 || env.From[0].Addr() != "user@domain.vn" {
			t.Errorf("From: %s = %+v, want user@domain.vn", value, env.From)
		}
	}
}

// TestAddressSourceRoute: an obsolete source route ("<@relay:user@host>", RFC 5322 4.4) stays in the ENVELOPE's
// at-domain-list (RFC 3501 7.4.2) and in the stored meta; meta written without routes reads the same.
func TestAddressSourceRoute(t *testing.T) {
	p := Parse([]byte("From: <@route:user@domain>\r\nTo: An <@r1:an@hue.gov.vn>, b@hue.gov.vn\r\n\r\nbody\r\n"))
	meta, err := DecodeMeta(p.Meta())
	if err != nil {
		t.Fatal(err)
	}
	wantFrom := []imap.Address{{ADL: "@route", Mailbox: "user", Host: "domain"}}
	wantTo := []imap.Address{{Name: "An", ADL: "@r1", Mailbox: "an", Host: "hue.gov.vn"}, {Mailbox: "b", Host: "hue.gov.vn"}}
	for _, env := range []*imap.Envelope{p.Envelope, meta.Envelope} {
		if !slices.Equal(env.From, wantFrom) || !slices.Equal(env.To, wantTo) {
			t.Errorf("From %+v To %+v, want %+v and %+v", env.From, env.To, wantFrom, wantTo)
		}
	}
	if adl, mailbox := splitRoute("user"); adl != "" || mailbox != "user" {
		t.Errorf("a mailbox stored without a route reads as %q, %q", adl, mailbox)
	}
}
