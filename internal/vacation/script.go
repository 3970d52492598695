package vacation

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// ScriptName is the name of the filter script an automatic reply is written to, by the CLI (`vacation set`) and
// by the webmail's settings alike, so that either one turns off what the other turned on.
const ScriptName = "vacation"

// Settings are an automatic reply: the dates it runs between (zero: from now, or with no end), the reply's subject
// (empty: "Trả lời tự động / Auto: " and the original's) and text (empty: DefaultReason for the dates), and the
// days between two replies to one sender (0: 1 day).
type Settings struct {
	From    time.Time
	Until   time.Time
	Subject string
	Message string
	Days    int
}

// Script is the Sieve script of an automatic reply (RFC 5230, dated with RFC 5260's currentdate); previous names
// the script to run again once it is turned off ("" for none), recorded in a comment PreviousScript reads back.
func Script(s Settings, previous string) string {
	text := s.Message
	if strings.TrimSpace(text) == "" {
		text = DefaultReason(s.From, s.Until)
	}
	var b strings.Builder
	b.WriteString("# Automatic reply (mailserver vacation set, or the webmail's settings); `mailserver vacation off` ends it.\r\n")
	if previous != "" {
		fmt.Fprintf(&b, "# previous: %s\r\n", sieveQuote(previous))
	}
	b.WriteString("require [\"vacation\", \"date\", \"relational\"];\r\n")
	var window []string
	if !s.From.IsZero() {
		window = append(window, fmt.Sprintf("currentdate :value \"ge\" \"date\" \"%s\"", Day(s.From)))
	}
	if !s.Until.IsZero() {
		window = append(window, fmt.Sprintf("currentdate :value \"le\" \"date\" \"%s\"", Day(s.Until)))
	}
	action := fmt.Sprintf("vacation :days %d", max(s.Days, 1))
	if s.Subject != "" {
		action += " :subject " + sieveQuote(s.Subject)
	}
	action += " " + sieveText(text) + ";\r\n"
	if len(window) == 0 {
		b.WriteString(action)
		return b.String()
	}
	fmt.Fprintf(&b, "if allof(%s) {\r\n%s}\r\n", strings.Join(window, ", "), action)
	return b.String()
}

var previousLine = regexp.MustCompile(`(?m)^# previous: ("(?:[^"\\]|\\.)*")\r?$`)

// PreviousScript reads back the name of the script Script recorded to run again afterwards ("" for none).
func PreviousScript(src string) string {
	m := previousLine.FindStringSubmatch(src)
	if m == nil {
		return ""
	}
	q := m[1][1 : len(m[1])-1]
	return strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(q)
}

// Day writes t's date as the scripts compare it (RFC 5260 section 4.2's "date" part: yyyy-mm-dd).
func Day(t time.Time) string { return t.Format("2006-01-02") }

// sieveQuote writes s as a Sieve quoted string (RFC 5228 section 2.4.2).
func sieveQuote(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", " ", "\n", " ").Replace(s)
	return `"` + s + `"`
}

// sieveText writes s as a Sieve multi-line string, lines starting with a dot doubled (RFC 5228 section 2.4.2).
func sieveText(s string) string {
	var b strings.Builder
	b.WriteString("text:\r\n")
	for _, line := range strings.Split(strings.ReplaceAll(strings.TrimRight(s, "\r\n"), "\r\n", "\n"), "\n") {
		if strings.HasPrefix(line, ".") {
			b.WriteString(".")
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	return b.String()
}
