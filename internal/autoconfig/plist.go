package autoconfig

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// plistDict is a property-list dictionary whose keys keep the order they were written in. Its values are
// strings, ints, bools, nested dictionaries and arrays of dictionaries: all a configuration profile needs.
type plistDict []plistEntry

type plistEntry struct {
	key   string
	value any
}

const plistHeader = xml.Header +
	`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n"

// encodePlist writes d as an XML property list (Apple's plist DTD 1.0).
func encodePlist(d plistDict) []byte {
	var b bytes.Buffer
	b.WriteString(plistHeader + `<plist version="1.0">` + "\n")
	writePlistValue(&b, d, 0)
	b.WriteString("</plist>\n")
	return b.Bytes()
}

func writePlistValue(b *bytes.Buffer, v any, depth int) {
	indent := strings.Repeat("\t", depth)
	switch v := v.(type) {
	case string:
		b.WriteString(indent + "<string>")
		xml.EscapeText(b, []byte(v))
		b.WriteString("</string>\n")
	case int:
		b.WriteString(indent + "<integer>" + strconv.Itoa(v) + "</integer>\n")
	case bool:
		b.WriteString(indent + "<" + strconv.FormatBool(v) + "/>\n")
	case plistDict:
		b.WriteString(indent + "<dict>\n")
		for _, e := range v {
			b.WriteString(indent + "\t<key>")
			xml.EscapeText(b, []byte(e.key))
			b.WriteString("</key>\n")
			writePlistValue(b, e.value, depth+1)
		}
		b.WriteString(indent + "</dict>\n")
	case []plistDict:
		b.WriteString(indent + "<array>\n")
		for _, d := range v {
			writePlistValue(b, d, depth+1)
		}
		b.WriteString(indent + "</array>\n")
	default:
		panic(fmt.Sprintf("plist: no encoding for %T", v)) // a programming error: the profile is built here
	}
}

// stableUUID is a UUID derived from names alone (RFC 9562 version 8, from SHA-256 as in its appendix B.2), so that
// the same names always give the same UUID.
func stableUUID(names ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(names, "\x00")))
	u := sum[:16]
	u[6] = u[6]&0x0f | 0x80 // version 8
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%X-%X-%X-%X-%X", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
