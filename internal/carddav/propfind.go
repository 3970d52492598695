package carddav

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// XML namespaces of the properties served.
const (
	nsDAV     = "DAV:"
	nsCardDAV = "urn:ietf:params:xml:ns:carddav"
	nsCS      = "http://calendarserver.org/ns/" // getctag
)

var prefixes = map[string]string{nsDAV: "d", nsCardDAV: "card", nsCS: "cs"}

// property is one live property of a resource, its value already XML.
type property struct {
	name  xml.Name
	inner string
}

// resource is one URL of the address book and its properties.
type resource struct {
	path  string // unescaped; collections end in "/"
	props []property
}

func (res *resource) find(name xml.Name) (string, bool) {
	for _, p := range res.props {
		if p.name == name {
			return p.inner, true
		}
	}
	return "", false
}

// propfindRequest is the body of a PROPFIND (RFC 4918 §14.20); an empty body means allprop.
type propfindRequest struct {
	XMLName  xml.Name  `xml:"DAV: propfind"`
	AllProp  *struct{} `xml:"DAV: allprop"`
	PropName *struct{} `xml:"DAV: propname"`
	Prop     *struct {
		Props []struct {
			XMLName xml.Name
		} `xml:",any"`
	} `xml:"DAV: prop"`
}

// servePropfind answers PROPFIND for every resource of the handler (RFC 4918 §9.1), with Depth: infinity taken as
// Depth: 1 (RFC 4918 §9.1 lets servers refuse it; answering a level is kinder to clients).
func (h *handler) servePropfind(w http.ResponseWriter, r *http.Request, req *request) {
	var pf propfindRequest
	if err := xml.NewDecoder(http.MaxBytesReader(w, r.Body, maxPropfindBody)).Decode(&pf); errors.Is(err, io.EOF) {
		pf.AllProp = &struct{}{}
	} else if err != nil {
		http.Error(w, "malformed PROPFIND body", http.StatusBadRequest)
		return
	}
	if pf.Prop != nil && len(pf.Prop.Props) > maxProps {
		http.Error(w, fmt.Sprintf("the PROPFIND asks for %d properties; at most %d", len(pf.Prop.Props), maxProps),
			http.StatusBadRequest)
		return
	}
	resources, err := h.resources(r.URL.Path, r.Header.Get("Depth") != "0", req)
	if err != nil {
		http.Error(w, err.Error(), httpStatus(err))
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	bw := bufio.NewWriter(w)
	bw.WriteString(xml.Header)
	bw.WriteString(`<d:multistatus xmlns:d="DAV:" xmlns:card="` + nsCardDAV + `" xmlns:cs="` + nsCS + `">`)
	for _, res := range resources {
		writeResponse(bw, &pf, res)
	}
	bw.WriteString("</d:multistatus>\n")
	bw.Flush() // a write error means the client went away
}

// resources returns the resource at p and, with children, its members.
func (h *handler) resources(p string, children bool, req *request) ([]*resource, error) {
	clean := path.Clean(p)
	if clean != "/" {
		clean += "/"
	}
	switch {
	case clean == "/" || clean == ContextPath:
		return []*resource{rootResource(p, req)}, nil
	case clean == principalPath(req.account.Address):
		return []*resource{principalResource(req)}, nil
	case clean == homeSetPath:
		if !children {
			return []*resource{homeResource(req)}, nil
		}
		book, err := bookResource(req)
		if err != nil {
			return nil, err
		}
		return []*resource{homeResource(req), book}, nil
	case clean == bookPath:
		book, err := bookResource(req)
		if err != nil || !children {
			return []*resource{book}, err
		}
		snap, err := req.snapshot()
		if err != nil {
			return nil, err
		}
		out := make([]*resource, 0, 1+len(snap.entries))
		out = append(out, book)
		for _, e := range snap.entries {
			out = append(out, objectResource(e))
		}
		return out, nil
	}
	if uid, ok := strings.CutPrefix(strings.TrimSuffix(clean, "/"), bookPath); ok {
		if uid, ok := strings.CutSuffix(uid, ".vcf"); ok {
			snap, err := req.snapshot()
			if err != nil {
				return nil, err
			}
			if e := snap.byUID[uid]; e != nil {
				return []*resource{objectResource(e)}, nil
			}
		}
	}
	return nil, &statusError{http.StatusNotFound, "not found"}
}

// Properties.

var (
	resourceType         = xml.Name{Space: nsDAV, Local: "resourcetype"}
	displayName          = xml.Name{Space: nsDAV, Local: "displayname"}
	currentUserPrincipal = xml.Name{Space: nsDAV, Local: "current-user-principal"}
	principalURL         = xml.Name{Space: nsDAV, Local: "principal-URL"}
	privilegeSet         = xml.Name{Space: nsDAV, Local: "current-user-privilege-set"}
	supportedReportSet   = xml.Name{Space: nsDAV, Local: "supported-report-set"}
	getETag              = xml.Name{Space: nsDAV, Local: "getetag"}
	getContentType       = xml.Name{Space: nsDAV, Local: "getcontenttype"}
	homeSet              = xml.Name{Space: nsCardDAV, Local: "addressbook-home-set"}
	description          = xml.Name{Space: nsCardDAV, Local: "addressbook-description"}
	supportedAddressData = xml.Name{Space: nsCardDAV, Local: "supported-address-data"}
	getCTag              = xml.Name{Space: nsCS, Local: "getctag"}
)

// readOnly is DAV:current-user-privilege-set (RFC 3744 §5.4) for every resource: read, no write. Thunderbird and
// DAVx⁵ mark the address book read-only from it.
const readOnly = `<d:privilege><d:read/></d:privilege><d:privilege><d:read-current-user-privilege-set/></d:privilege>`

func href(p string) string {
	return "<d:href>" + escape((&url.URL{Path: p}).EscapedPath()) + "</d:href>"
}

func rootResource(p string, req *request) *resource {
	if p != "/" {
		p = ContextPath
	}
	return &resource{path: p, props: []property{
		{resourceType, "<d:collection/>"},
		{currentUserPrincipal, href(principalPath(req.account.Address))}, // RFC 5397
		{homeSet, href(homeSetPath)},                                     // for clients that look for it on the URL they were given
		{privilegeSet, readOnly},
	}}
}

func principalResource(req *request) *resource {
	p := principalPath(req.account.Address)
	name := cleanText(req.account.Name)
	if name == "" {
		name = req.account.Address
	}
	return &resource{path: p, props: []property{
		{resourceType, "<d:principal/>"},
		{displayName, escape(name)},
		{currentUserPrincipal, href(p)},
		{principalURL, href(p)},
		{homeSet, href(homeSetPath)}, // RFC 6352 §7.1.1
		{privilegeSet, readOnly},
	}}
}

func homeResource(req *request) *resource {
	return &resource{path: homeSetPath, props: []property{
		{resourceType, "<d:collection/>"},
		{currentUserPrincipal, href(principalPath(req.account.Address))},
		{privilegeSet, readOnly},
	}}
}

func bookResource(req *request) (*resource, error) {
	snap, err := req.snapshot()
	if err != nil {
		return nil, err
	}
	return &resource{path: bookPath, props: []property{
		{resourceType, "<d:collection/><card:addressbook/>"}, // RFC 6352 §5.2
		{displayName, escape(bookName)},
		{description, escape(bookDescription)},
		{supportedAddressData, `<card:address-data-type content-type="text/vcard" version="3.0"/>` +
			`<card:address-data-type content-type="text/vcard" version="4.0"/>`},
		{supportedReportSet, `<d:supported-report><d:report><card:addressbook-query/></d:report></d:supported-report>` +
			`<d:supported-report><d:report><card:addressbook-multiget/></d:report></d:supported-report>`},
		{getCTag, escape(snap.ctag)},
		{currentUserPrincipal, href(principalPath(req.account.Address))},
		{privilegeSet, readOnly},
	}}, nil
}

func objectResource(e *entry) *resource {
	return &resource{path: objectPath(e.uid), props: []property{
		{resourceType, ""},
		{getETag, escape(`"` + e.etag + `"`)},
		{getContentType, "text/vcard; charset=utf-8"},
		{privilegeSet, readOnly},
	}}
}

// writeResponse writes one DAV:response: the requested properties it has with 200, those it has not with 404.
func writeResponse(bw *bufio.Writer, pf *propfindRequest, res *resource) {
	bw.WriteString("<d:response>" + href(res.path))
	var found []property
	var missing []xml.Name
	switch {
	case pf.PropName != nil:
		for _, p := range res.props {
			found = append(found, property{name: p.name})
		}
	case pf.AllProp != nil || pf.Prop == nil:
		found = res.props
	default:
		for _, want := range pf.Prop.Props {
			if inner, ok := res.find(want.XMLName); ok {
				found = append(found, property{want.XMLName, inner})
			} else {
				missing = append(missing, want.XMLName)
			}
		}
	}
	if len(found) > 0 || len(missing) == 0 {
		writePropstat(bw, found, "200 OK")
	}
	if len(missing) > 0 {
		props := make([]property, len(missing))
		for i, name := range missing {
			props[i].name = name
		}
		writePropstat(bw, props, "404 Not Found")
	}
	bw.WriteString("</d:response>")
}

func writePropstat(bw *bufio.Writer, props []property, status string) {
	bw.WriteString("<d:propstat><d:prop>")
	for _, p := range props {
		open, closing := tag(p.name)
		if p.inner == "" {
			bw.WriteString(open[:len(open)-1] + "/>")
		} else {
			bw.WriteString(open + p.inner + closing)
		}
	}
	bw.WriteString("</d:prop><d:status>HTTP/1.1 " + status + "</d:status></d:propstat>")
}

// tag returns the opening and closing tags of an element, declaring its namespace unless it has a prefix here.
func tag(name xml.Name) (open, closing string) {
	if prefix, ok := prefixes[name.Space]; ok {
		return "<" + prefix + ":" + name.Local + ">", "</" + prefix + ":" + name.Local + ">"
	}
	if name.Space == "" { // no default namespace is declared here
		return "<" + name.Local + ">", "</" + name.Local + ">"
	}
	return "<x:" + name.Local + ` xmlns:x="` + escape(name.Space) + `">`, "</x:" + name.Local + ">"
}

func escape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // never fails on a strings.Builder
	return b.String()
}
