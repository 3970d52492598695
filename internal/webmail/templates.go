package webmail

import (
	"html/template"
	"net/url"
	"strconv"
)

// templateFuncs build the links of the pages; html/template escapes what they return once more for its context.
var templateFuncs = template.FuncMap{
	"listURL":   listURL,
	"readURL":   readURL,
	"searchURL": searchURL,
	"indent":    func(depth int) string { return "d" + strconv.Itoa(min(depth, 5)) }, // a class: no inline style
}

func listURL(folder, sort string, page int) string {
	q := url.Values{"f": {folder}}
	if sort != "" && sort != "date" {
		q.Set("sort", sort)
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	return Prefix + "list?" + q.Encode()
}
