package carddav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// maxRequestBody bounds PROPFIND and REPORT bodies. An addressbook-multiget of every card of a 10,000-person
// directory is about 1 MiB.
const maxRequestBody = 4 << 20

// maxPropfindBody bounds PROPFIND bodies, which name properties only: clients send well under 2 KiB.
const maxPropfindBody = 64 << 10

// maxProps bounds the properties one PROPFIND or REPORT asks for. Every one of them is answered for every
// resource, so a short body naming thousands would cost the whole directory thousands of times over; clients ask
// for a dozen or two.
const maxProps = 64

// acceptedVersion picks the vCard version for a GET from its Accept headers: 4.0 only when the first text/vcard
// type listed asks for it (RFC 6352 §5.1.1 lets clients choose the version this way).
func acceptedVersion(accept []string) string {
	for _, h := range accept {
		for _, part := range strings.Split(h, ",") {
			mt, params, err := mime.ParseMediaType(part)
			if err != nil || mt != "text/vcard" {
				continue
			}
			if params["version"] == version4 {
				return version4
			}
			return version3
		}
	}
	return version3
}

// prepareReport reads a REPORT body to pick the vCard version the client asks for in its CARDDAV:address-data
// element (RFC 6352 §10.4), then puts the body back for go-webdav. It also supplies the Content-Type that go-webdav
// insists on when a client leaves it out.
func prepareReport(w http.ResponseWriter, r *http.Request, req *request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			return &statusError{http.StatusRequestEntityTooLarge, "request body too large"}
		}
		return &statusError{http.StatusBadRequest, "cannot read the request body"}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/xml")
	}
	if n := countProps(body); n > maxProps {
		return &statusError{http.StatusBadRequest, fmt.Sprintf("the REPORT asks for %d properties; at most %d", n, maxProps)}
	}
	req.version = reportVersion(body)
	return nil
}

// countProps counts the elements directly inside DAV:prop elements of an XML body (0 for a body that is not XML:
// go-webdav refuses it).
func countProps(body []byte) int {
	d := xml.NewDecoder(bytes.NewReader(body))
	n, depth, propDepth := 0, 0, -1
	for {
		tok, err := d.Token()
		if err != nil {
			return n
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case propDepth < 0 && t.Name.Space == "DAV:" && t.Name.Local == "prop":
				propDepth = depth
			case propDepth >= 0 && depth == propDepth+1:
				n++
			}
		case xml.EndElement:
			if depth == propDepth {
				propDepth = -1
			}
			depth--
		}
	}
}

// reportVersion returns the version attribute of the first CARDDAV:address-data element: version4 if it asks for
// 4.0, version3 otherwise (also for bodies go-webdav will refuse).
func reportVersion(body []byte) string {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			return version3
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Space != nsCardDAV || se.Name.Local != "address-data" {
			continue
		}
		for _, a := range se.Attr {
			if a.Name.Local == "version" && strings.TrimSpace(a.Value) == version4 {
				return version4
			}
		}
		return version3
	}
}
