package mailauth

import (
	"context"
	"mime"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"mailserver/internal/dns"
)

// fakeDNS answers from maps and never touches the network. It records every query.
type fakeDNS struct {
	txt   map[string][]string
	ips   map[string][]net.IPAddr
	ptr   map[string][]string // the names of addresses, for reverse lookups
	fail  map[string]error    // lookups of these names fail with the error
	slow  map[string]bool     // lookups of these names (or addresses) answer only when ctx ends, as a stalling zone
	block chan struct{}       // when set, every lookup waits for it to close, ignoring ctx

	mu      sync.Mutex
	queries []string
}

func (f *fakeDNS) lookup(ctx context.Context, kind, name string) (string, error) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	f.mu.Lock()
	f.queries = append(f.queries, kind+" "+name)
	f.mu.Unlock()
	if f.block != nil {
		<-f.block
	}
	if f.slow[name] {
		<-ctx.Done()
		return name, ctx.Err()
	}
	if err := f.fail[name]; err != nil {
		return name, err
	}
	return name, nil
}

func (f *fakeDNS) LookupTXT(ctx context.Context, name string) ([]string, error) {
	name, err := f.lookup(ctx, "TXT", name)
	if err != nil {
		return nil, err
	}
	if v, ok := f.txt[name]; ok {
		return v, nil
	}
	return nil, dns.NotFound(name)
}

func (f *fakeDNS) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	name, err := f.lookup(ctx, "MX", name)
	if err != nil {
		return nil, err
	}
	return nil, dns.NotFound(name)
}

func (f *fakeDNS) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	host, err := f.lookup(ctx, "A", host)
	if err != nil {
		return nil, err
	}
	if v, ok := f.ips[host]; ok {
		return v, nil
	}
	return nil, dns.NotFound(host)
}

func (f *fakeDNS) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	addr, err := f.lookup(ctx, "PTR", addr)
	if err != nil {
		return nil, err
	}
	if v, ok := f.ptr[addr]; ok {
		return v, nil
	}
	return nil, dns.NotFound(addr)
}

// asked reports how many queries so far were for names containing s.
func (f *fakeDNS) asked(s string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, q := range f.queries {
		if strings.Contains(q, s) {
			n++
		}
	}
	return n
}

var month = time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)

// testKeys are made once: RSA generation is slow, more so under the race detector.
var testKeys = sync.OnceValues(func() ([]Key, error) {
	rsaKey, err := GenerateKey("rsa", SelectorFor("rsa", month))
	if err != nil {
		return nil, err
	}
	edKey, err := GenerateKey("ed25519", SelectorFor("ed25519", month))
	return []Key{rsaKey, edKey}, err
})

func keys(t testing.TB) []Key {
	t.Helper()
	k, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// world is a.gov.vn sending from 192.0.2.10 with a DMARC reject policy and both keys published, b.gov.vn
// receiving.
func world(t testing.TB) *fakeDNS {
	t.Helper()
	f := &fakeDNS{txt: map[string][]string{
		"a.gov.vn":        {"v=spf1 ip4:192.0.2.10 -all"},
		"mail.a.gov.vn":   {"v=spf1 a -all"},
		"_dmarc.a.gov.vn": {"v=DMARC1; p=reject; rua=mailto:dmarc@a.gov.vn"},
	}, ips: map[string][]net.IPAddr{
		"mail.a.gov.vn": {{IP: net.ParseIP("192.0.2.10")}},
	}}
	for _, k := range keys(t) {
		rec, err := k.PublicRecord()
		if err != nil {
			t.Fatal(err)
		}
		f.txt[k.Selector+"._domainkey.a.gov.vn"] = []string{rec}
	}
	return f
}

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

// plainMsg is a short unsigned message from the given From field value.
func plainMsg(from string) []byte {
	return crlf("From: " + from + "\nSubject: s\nDate: Tue, 03 Nov 2026 08:00:00 +0700\n\nbody\n")
}

// vietnameseMessage is a multipart report from the Department of Home Affairs of a.gov.vn, with diacritics in the
// encoded Subject and display name, and in the UTF-8 body.
func vietnameseMessage(from string) []byte {
	subject := mime.BEncoding.Encode("UTF-8", "Báo cáo tổng kết công tác năm 2026 — Sở Nội vụ")
	return crlf(`From: ` + from + `
To: =?UTF-8?Q?V=C4=83n_ph=C3=B2ng_UBND?= <vanphong@b.gov.vn>
Subject: ` + subject + `
Date: Tue, 03 Nov 2026 08:00:00 +0700
Message-ID: <bc-2026@a.gov.vn>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="ranh-gioi"

--ranh-gioi
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Kính gửi Ủy ban nhân dân thành phố Hà Nội,

Sở Nội vụ trân trọng gửi báo cáo tổng kết công tác năm 2026.
Trân trọng.
--ranh-gioi
Content-Type: application/pdf; name="bao-cao.pdf"
Content-Disposition: attachment; filename="bao-cao.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCg==
--ranh-gioi--
`)
}

var vanthu = mime.QEncoding.Encode("UTF-8", "Văn thư Sở Nội vụ") + " <vanthu@a.gov.vn>"

func signed(t testing.TB, msg []byte, domain string, k ...Key) []byte {
	t.Helper()
	sig, err := Sign(msg, domain, k)
	if err != nil {
		t.Fatal(err)
	}
	return append(sig, msg...)
}
