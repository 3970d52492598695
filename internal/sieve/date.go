package sieve

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The date extension (RFC 5260 sections 4 and 5): a date-time, from a header field or the clock, shifted to a
// zone, gives the date part that the keys are matched against.

// datePartLayouts are the date parts of RFC 5260 section 4.2 that are a time.Format layout; dateParts adds the
// others.
var datePartLayouts = map[string]string{
	"year": "2006", "month": "01", "day": "02", "date": "2006-01-02", "hour": "15", "minute": "04", "second": "05",
	"time": "15:04:05",
}

var dateParts = map[string]bool{
	"year": true, "month": true, "day": true, "date": true, "julian": true, "hour": true, "minute": true,
	"second": true, "time": true, "iso8601": true, "std11": true, "zone": true, "weekday": true,
}

// mjdOfUnixEpoch is the Modified Julian Day of 1970-01-01: the MJD counts days from 1858-11-17.
const mjdOfUnixEpoch = 40587

// zonedTime is a date-time in the zone its parts are read in. minusZero marks a header's "-0000", which
// RFC 5322 section 3.3 gives to times whose local zone is unknown; :originalzone keeps it as written.
type zonedTime struct {
	t         time.Time
	minusZero bool
}

// datePart renders one date part (RFC 5260 section 4.2). part is known to be valid, in lower case.
func (z zonedTime) datePart(part string) string {
	if layout, ok := datePartLayouts[part]; ok {
		return z.t.Format(layout)
	}
	switch part {
	case "julian":
		return strconv.FormatInt(modifiedJulianDay(z.t), 10)
	case "iso8601":
		return z.t.Format("2006-01-02T15:04:05") + z.offset(":")
	case "std11":
		return z.t.Format("Mon, 02 Jan 2006 15:04:05 ") + z.offset("")
	case "zone":
		return z.offset("")
	case "weekday":
		return strconv.Itoa(int(z.t.Weekday()))
	}
	return ""
}

// offset is the zone as +hhmm (or +hh:mm with sep ":"); zero is "+0000" (RFC 5260 section 4.2) unless the
// header said "-0000".
func (z zonedTime) offset(sep string) string {
	_, secs := z.t.Zone()
	sign := '+'
	if secs < 0 || (secs == 0 && z.minusZero) {
		sign, secs = '-', -secs
	}
	mins := secs / 60
	return fmt.Sprintf("%c%02d%s%02d", sign, mins/60, sep, mins%60)
}

// modifiedJulianDay counts the days from 1858-11-17 to t's calendar date in t's zone.
func modifiedJulianDay(t time.Time) int64 {
	y, m, d := t.Date()
	days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400 // exact: midnight UTC
	return days + mjdOfUnixEpoch
}

// parseZone reads a zone argument, "+hhmm" or "-hhmm" (RFC 5260 section 4.1), as a fixed zone.
func parseZone(s string) (*time.Location, error) {
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') {
		return nil, fmt.Errorf("zone %q is not +hhmm or -hhmm", s)
	}
	for i := 1; i < 5; i++ {
		if s[i] < '0' || s[i] > '9' {
			return nil, fmt.Errorf("zone %q is not +hhmm or -hhmm", s)
		}
	}
	hh, mm := int(s[1]-'0')*10+int(s[2]-'0'), int(s[3]-'0')*10+int(s[4]-'0')
	if hh > 23 || mm > 59 {
		return nil, fmt.Errorf("zone %q is out of range (hours 00-23, minutes 00-59)", s)
	}
	secs := (hh*60 + mm) * 60
	if s[0] == '-' {
		secs = -secs
	}
	return time.FixedZone(s, secs), nil
}

// parseHeaderDate reads an RFC 5322 date-time. A Received field carries it after its last ";" (RFC 5322
// section 3.6.7), so that is tried when the whole value is not a date.
func parseHeaderDate(field string) (zonedTime, bool) {
	value := numericZone(field)
	t, err := mail.ParseDate(value)
	if err != nil {
		i := strings.LastIndexByte(field, ';')
		if i < 0 {
			return zonedTime{}, false
		}
		value = numericZone(field[i+1:])
		if t, err = mail.ParseDate(value); err != nil {
			return zonedTime{}, false
		}
	}
	return zonedTime{t: t, minusZero: strings.HasSuffix(value, "-0000")}, true
}

// obsoleteZones are the zone names of RFC 5322 section 4.3; other letters (military zones) mean "-0000".
var obsoleteZones = map[string]string{
	"UT": "+0000", "GMT": "+0000", "EST": "-0500", "EDT": "-0400", "CST": "-0600", "CDT": "-0500",
	"MST": "-0700", "MDT": "-0600", "PST": "-0800", "PDT": "-0700",
}

// numericZone drops trailing comments and writes an obsolete zone name as an offset: Go would read a name it
// does not know as UTC.
func numericZone(value string) string {
	value = strings.TrimSpace(value)
	for n := 0; strings.HasSuffix(value, ")") && n < 8; n++ {
		i := strings.LastIndexByte(value, '(')
		if i < 0 {
			break
		}
		value = strings.TrimSpace(value[:i])
	}
	sp := strings.LastIndexAny(value, " \t")
	name := value[sp+1:]
	if sp < 0 || name == "" || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsLetter(r) }) >= 0 {
		return value
	}
	zone, ok := obsoleteZones[strings.ToUpper(name)]
	if !ok {
		zone = "-0000"
	}
	return value[:sp+1] + zone
}

// dateValues gives the date part of the date and currentdate tests: none when the header field is missing, has
// no valid date-time, or the zone or date part built from variables is not valid (RFC 5260 section 4: the test
// is then false).
func (r *run) dateValues(t *test) []string {
	args := t.args
	var zt zonedTime
	if t.name == "currentdate" {
		zt = zonedTime{t: r.now}
	} else {
		values := r.indexed(t, r.msg.HeaderValues(r.expand(args[0].strs[0])))
		if len(values) == 0 {
			return nil
		}
		// Without :index, only the first field counts (RFC 5260 section 4).
		var ok bool
		if zt, ok = parseHeaderDate(values[0]); !ok {
			return nil
		}
		args = args[1:]
	}
	part := strings.ToLower(r.expand(args[0].strs[0]))
	if !dateParts[part] {
		return nil
	}
	switch {
	case hasTag(t, "originalzone"):
	case hasTag(t, "zone"):
		zone := r.expand(t.tags["zone"].strs[0])
		loc, err := parseZone(zone)
		if err != nil {
			return nil
		}
		zt = zonedTime{t: zt.t.In(loc), minusZero: zone == "-0000"} // the zone part is the one given
	default:
		zt = zonedTime{t: zt.t.In(r.zone())}
	}
	return []string{zt.datePart(part)}
}

// zone is the server's zone, in which dates are read without :zone or :originalzone.
func (r *run) zone() *time.Location {
	if r.opts.Zone != nil {
		return r.opts.Zone
	}
	return time.Local
}

// indexed keeps the field that :index (and :last) pick out of one header name's fields (RFC 5260 section 6);
// all of them without :index, none when there are not that many.
func (r *run) indexed(t *test, fields []string) []string {
	a, ok := t.tags["index"]
	if !ok {
		return fields
	}
	n := int(min(a.num, int64(len(fields)+1)))
	if n < 1 || n > len(fields) {
		return nil
	}
	if hasTag(t, "last") {
		return fields[len(fields)-n : len(fields)-n+1]
	}
	return fields[n-1 : n]
}

// checkDateArgs checks the zone and date part of date and currentdate when they are constants.
func (c *checker) checkDateArgs(t *test) *Error {
	part := t.args[len(t.args)-2]
	if !c.holdsVariable(part.strs[0]) && !dateParts[strings.ToLower(part.strs[0])] {
		return errAt(part.pos, "unknown date part %q (RFC 5260 section 4.2: year, month, day, date, julian, hour, "+
			"minute, second, time, iso8601, std11, zone, weekday)", part.strs[0])
	}
	if z, ok := t.tags["zone"]; ok && !c.holdsVariable(z.strs[0]) {
		if _, err := parseZone(z.strs[0]); err != nil {
			return errAt(z.pos, "%s", err.Error())
		}
	}
	return nil
}

// checkIndexArgs checks :index and :last (RFC 5260 section 6): a field number from 1, :last only with :index.
func checkIndexArgs(t *test) *Error {
	a, hasIndex := t.tags["index"]
	if last, ok := t.tags["last"]; ok && !hasIndex {
		return errAt(last.pos, "\":last\" needs \":index\" (RFC 5260 section 6)")
	}
	if hasIndex && a.num < 1 {
		return errAt(a.pos, "\":index\" counts fields from 1")
	}
	return nil
}

// holdsVariable tells whether a string is expanded at run time, so that its value cannot be checked now.
func (c *checker) holdsVariable(s string) bool {
	return c.required["variables"] && strings.Contains(s, "${")
}
