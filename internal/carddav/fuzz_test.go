package carddav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"mailserver/internal/store"
)

// FuzzRequestBodies sends arbitrary PROPFIND and REPORT bodies: the handler must not panic, must answer 207 or a
// 4xx, and every 207 must be well-formed XML whatever element names the client made up.
func FuzzRequestBodies(f *testing.F) {
	for _, seed := range []string{
		``,
		`<propfind xmlns="DAV:"><allprop/></propfind>`,
		`<propfind xmlns="DAV:"><propname/></propfind>`,
		`<propfind xmlns="DAV:" xmlns:x="urn:&quot;x&lt;"><prop><getetag/><x:odd-name/><plain xmlns=""/></prop></propfind>`,
		`<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data version="4.0"/></D:prop>` +
			`<C:filter test="allof"><C:prop-filter name="FN"><C:text-match match-type="starts-with">NGUY</C:text-match></C:prop-filter></C:filter></C:addressbook-query>`,
		`<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:href>/carddav/addressbooks/gal/x.vcf</D:href></C:addressbook-multiget>`,
		`<C:addressbook-query xmlns:C="urn:ietf:params:xml:ns:carddav"><C:filter test="bogus"><C:prop-filter name="FN"/></C:filter></C:addressbook-query>`,
	} {
		f.Add(seed)
	}
	dir := &fakeDirectory{accounts: []store.Account{
		{Address: "an@vinhyen.gov.vn", Name: "Nguyễn Văn An", Unit: "ubnd"},
		{Address: "vanthu@vinhyen.gov.vn", Name: "Văn thư", Shared: true},
	}}
	h := NewHandler(dir, &fakeAuth{account: store.Account{Address: "an@vinhyen.gov.vn"}}, nil)
	f.Fuzz(func(t *testing.T, body string) {
		for _, method := range []string{"PROPFIND", "REPORT"} {
			for _, path := range []string{bookPath, principalPath("an@vinhyen.gov.vn")} {
				rec := serve(h, method, path, strings.NewReader(body))
				switch {
				case rec.Code == http.StatusMultiStatus:
					if err := wellFormed(rec.Body.Bytes()); err != nil {
						t.Fatalf("%s %s %q: malformed reply: %v\n%s", method, path, body, err, rec.Body)
					}
				case rec.Code < 400 || rec.Code >= 500:
					t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body)
				}
			}
		}
	})
}

func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
