package mailview

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
)

// mailPolicy is built once and never changed: bluemonday policies are safe for concurrent use once built.
var mailPolicy = sync.OnceValue(newMailPolicy)

var (
	// linkURL: what a link may point to. Relative URLs mean nothing in a mail and are dropped.
	linkURL = regexp.MustCompile(`(?i)^\s*(https?://|mailto:|tel:)`)
	// imageURL: what an image may load before the rewrite (rewriteImages) decides; data: is never kept (a
	// data: image can carry SVG, and is a way to smuggle content past the image rules).
	imageURL = regexp.MustCompile(`(?i)^\s*(https?://|cid:)`)
	// Values of the old presentational attributes mail still uses: no character that could start a URL or a
	// function.
	colorValue  = regexp.MustCompile(`^#?[0-9A-Za-z]{1,20}$`)
	lengthValue = regexp.MustCompile(`^[0-9]{1,5}(%|px)?$`)
	alignValue  = regexp.MustCompile(`(?i)^(left|right|center|justify|top|middle|bottom|baseline)$`)
	fontFace    = regexp.MustCompile(`^[\p{L}\p{N} ,'"_-]{1,200}$`)
	fontSize    = regexp.MustCompile(`^[+-]?[1-7]$`)
	langValue   = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`)
	dirValue    = regexp.MustCompile(`(?i)^(ltr|rtl|auto)$`)
	textValue   = regexp.MustCompile(`^[^<>]{0,500}$`)
)

// safeStyleProperties are the CSS properties kept in style attributes. Each value is checked by bluemonday's
// handler for that property, which accepts colours, lengths, keywords and font names only: no url(), no
// expression(), no escapes, so nothing a style attribute says can load or run anything.
var safeStyleProperties = []string{
	"color", "background-color",
	"font", "font-family", "font-size", "font-style", "font-weight", "font-variant", "line-height",
	"text-align", "text-decoration", "text-indent", "text-transform", "letter-spacing", "white-space",
	"vertical-align",
	"margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
	"padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
	"border", "border-top", "border-right", "border-bottom", "border-left", "border-color", "border-style",
	"border-width", "border-collapse", "border-spacing", "border-radius",
	"width", "height", "max-width", "min-width", "max-height", "min-height",
}

// newMailPolicy is UGC-like for mail: formatting, lists, tables, links, images and a safe subset of inline
// styles; nothing that runs (script, event handlers, javascript: URLs), submits (forms), embeds (iframe, object,
// embed, SVG, MathML) or redirects (base, meta refresh). Elements not allowed are removed with their attributes;
// their text stays, except for script, style, title, iframe, object and the like, whose content goes too.
func newMailPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("a", "abbr", "address", "b", "bdi", "bdo", "big", "blockquote", "br", "center", "cite", "code",
		"dd", "del", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "font", "h1", "h2", "h3", "h4", "h5",
		"h6", "hr", "i", "img", "ins", "kbd", "mark", "p", "pre", "q", "s", "samp", "small", "span", "strike",
		"strong", "sub", "sup", "tt", "u", "var", "wbr")
	p.AllowLists()
	p.AllowTables()
	p.AllowAttrs("dir").Matching(dirValue).Globally()
	p.AllowAttrs("lang").Matching(langValue).Globally()
	p.AllowAttrs("title").Matching(textValue).Globally()
	p.AllowAttrs("align", "valign").Matching(alignValue).Globally()
	p.AllowAttrs("bgcolor", "color").Matching(colorValue).Globally()
	p.AllowAttrs("width", "height", "border", "cellpadding", "cellspacing").Matching(lengthValue).Globally()
	p.AllowAttrs("colspan", "rowspan").Matching(bluemonday.Integer).OnElements("td", "th")
	p.AllowAttrs("face").Matching(fontFace).OnElements("font")
	p.AllowAttrs("size").Matching(fontSize).OnElements("font")
	p.AllowAttrs("href").Matching(linkURL).OnElements("a")
	p.AllowAttrs("src").Matching(imageURL).OnElements("img")
	p.AllowAttrs("alt").Matching(textValue).OnElements("img")
	p.AllowURLSchemes("http", "https", "mailto", "tel", "cid")
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(false)
	// Links open outside the reader's frame, and neither tell the target where they came from nor give it a
	// handle on the webmail's window.
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowStyles(safeStyleProperties...).Globally()
	return p
}

// sanitizeDocument sanitises a message's HTML and wraps it in a complete document for a sandboxed iframe.
func sanitizeDocument(body string, cids map[string]string, opts Options) (doc string, remoteBlocked bool) {
	clean := mailPolicy().Sanitize(body)
	clean, remoteBlocked = rewriteImages(clean, cids, opts)
	var sb strings.Builder
	sb.Grow(len(clean) + 512)
	sb.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8">`)
	sb.WriteString(`<meta http-equiv="Content-Security-Policy" content="`)
	sb.WriteString(html.EscapeString(documentCSP(opts.AllowRemoteImages)))
	sb.WriteString(`"><meta name="referrer" content="no-referrer"></head><body>`)
	sb.WriteString(clean)
	sb.WriteString(`</body></html>`)
	return sb.String(), remoteBlocked
}

// documentCSP is the document's own Content-Security-Policy, a second line behind the sanitiser: no script, no
// plugin, no form, no base, no font or style sheet from anywhere; images from the webmail itself or inlined by it
// as data: URLs (cid: parts, through Options.PartURL: the sanitiser drops every data: URL the mail itself has) and,
// when the reader allowed them, from the web. It can only narrow what the page serving the document allows.
func documentCSP(remoteImages bool) string {
	img := "'self' data:"
	if remoteImages {
		img += " https: http:"
	}
	return "default-src 'none'; img-src " + img + "; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
}

// rewriteImages decides every image of sanitised HTML: a cid: source becomes the URL of the part it names
// (Options.PartURL), a remote one is kept only when the reader allowed remote images; any other image is left
// out. The rest of the markup is copied byte for byte.
func rewriteImages(clean string, cids map[string]string, opts Options) (string, bool) {
	if !strings.Contains(clean, "<img") {
		return clean, false
	}
	var sb strings.Builder
	sb.Grow(len(clean))
	blocked := false
	z := html.NewTokenizer(strings.NewReader(clean))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		raw := z.Raw()
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			sb.Write(raw)
			continue
		}
		tok := z.Token()
		if tok.Data != "img" {
			sb.Write(raw)
			continue
		}
		src, remote := imageSource(tok, cids, opts)
		if src == "" {
			blocked = blocked || remote
			continue
		}
		tok.Attr = slices.DeleteFunc(tok.Attr, func(a html.Attribute) bool { return a.Key == "src" })
		tok.Attr = append(tok.Attr, html.Attribute{Key: "src", Val: src})
		sb.WriteString(tok.String())
	}
	return sb.String(), blocked
}

// imageSource is the URL an image is shown from, "" to leave it out; remote reports a remote image.
func imageSource(tok html.Token, cids map[string]string, opts Options) (src string, remote bool) {
	var raw string
	for _, a := range tok.Attr {
		if a.Key == "src" {
			raw = strings.TrimSpace(a.Val)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if opts.AllowRemoteImages {
			return u.String(), true
		}
		return "", true
	case "cid":
		// RFC 2392: the URL is the Content-ID without angle brackets, %-encoded.
		id, err := url.PathUnescape(u.Opaque)
		path, ok := cids[id]
		if err != nil || !ok || opts.PartURL == nil {
			return "", false
		}
		return opts.PartURL(path), false
	}
	return "", false
}
