package sieve

import (
	"slices"
	"testing"
	"time"
)

// fixedNow is 20:30:45 UTC on Thursday 31 December 2026, which is already Friday 1 January 2027 in +0700: every
// date part differs between the two zones.
var (
	fixedNow = time.Date(2026, 12, 31, 20, 30, 45, 0, time.UTC)
	ict      = time.FixedZone("ICT", 7*3600) // Vietnam's zone
)

func runWith(t *testing.T, script, msg string, opts RunOptions) string {
	t.Helper()
	res, err := mustCompile(t, script).Run(newMessage(msg), Envelope{}, opts)
	if err != nil {
		t.Fatalf("Run: %v\nscript:\n%s", err, script)
	}
	return summary(res)
}

// partScript files the message into a mailbox named after the date part the test reads, so that a failure shows
// the value itself.
func partScript(test string) string {
	return `require ["date", "variables", "fileinto"];
		if ` + test + ` "*" { fileinto "${0}"; }`
}

// TestDateParts reads every date part of one instant in +0700 and in UTC (RFC 5260 section 4.2), from the
// clock with the server's zone, from the clock with :zone, and from a Date header field.
func TestDateParts(t *testing.T) {
	cases := []struct{ part, utc, ict string }{
		{"year", "2026", "2027"},
		{"month", "12", "01"},
		{"day", "31", "01"},
		{"date", "2026-12-31", "2027-01-01"},
		{"julian", "61405", "61406"}, // MJD 51544 is 2000-01-01; 27 years with 7 leap days later: 61406
		{"hour", "20", "03"},
		{"minute", "30", "30"},
		{"second", "45", "45"},
		{"time", "20:30:45", "03:30:45"},
		{"iso8601", "2026-12-31T20:30:45+00:00", "2027-01-01T03:30:45+07:00"},
		{"std11", "Thu, 31 Dec 2026 20:30:45 +0000", "Fri, 01 Jan 2027 03:30:45 +0700"},
		{"zone", "+0000", "+0700"},
		{"weekday", "4", "5"},
		{"WeekDay", "4", "5"}, // date parts are names, compared without case
	}
	const dated = "Date: Fri, 1 Jan 2027 02:30:45 +0600 (somewhere east)\n\n"
	for _, c := range cases {
		for _, run := range []struct {
			name, test, msg string
			opts            RunOptions
			want            string
		}{
			{"currentdate local utc", `currentdate :matches "` + c.part + `"`, "\n", RunOptions{Now: fixedNow, Zone: time.UTC}, c.utc},
			{"currentdate local ict", `currentdate :matches "` + c.part + `"`, "\n", RunOptions{Now: fixedNow, Zone: ict}, c.ict},
			{"currentdate :zone +0700", `currentdate :zone "+0700" :matches "` + c.part + `"`, "\n", RunOptions{Now: fixedNow.In(ict), Zone: time.UTC}, c.ict},
			{"currentdate :zone +0000", `currentdate :zone "+0000" :matches "` + c.part + `"`, "\n", RunOptions{Now: fixedNow, Zone: ict}, c.utc},
			{"date local ict", `date :matches "date" "` + c.part + `"`, dated, RunOptions{Zone: ict}, c.ict},
			{"date :zone +0000", `date :zone "+0000" :matches "date" "` + c.part + `"`, dated, RunOptions{Zone: ict}, c.utc},
		} {
			if got, want := runWith(t, partScript(run.test), run.msg, run.opts), "fileinto:"+run.want; got != want {
				t.Errorf("%s %s: got %q, want %q", run.name, c.part, got, want)
			}
		}
	}
}

// TestDateZones checks :originalzone, "-0000", headers that hold no valid date, Received fields and the
// server's zone taken from RunOptions.
func TestDateZones(t *testing.T) {
	const ny = "Date: Thu, 31 Dec 2026 15:30:45 -0500\n\n"
	cases := []struct{ name, test, msg, want string }{
		{"originalzone hour", `date :originalzone :matches "date" "hour"`, ny, "15"},
		{"originalzone zone", `date :originalzone :matches "date" "zone"`, ny, "-0500"},
		{"originalzone iso8601", `date :originalzone :matches "date" "iso8601"`, ny, "2026-12-31T15:30:45-05:00"},
		{"originalzone std11", `date :originalzone :matches "date" "std11"`, ny, "Thu, 31 Dec 2026 15:30:45 -0500"},
		{"server zone", `date :matches "date" "date"`, ny, "2027-01-01"},
		{"zone west", `date :zone "-0930" :matches "date" "time"`, ny, "11:00:45"},
		{"unknown zone kept", `date :originalzone :matches "date" "zone"`, "Date: Thu, 31 Dec 2026 20:30:45 -0000\n\n", "-0000"},
		{"zone -0000 given", `date :zone "-0000" :matches "date" "iso8601"`, ny, "2026-12-31T20:30:45-00:00"},
		{"unknown zone shifted", `date :zone "+0000" :matches "date" "zone"`, "Date: Thu, 31 Dec 2026 20:30:45 -0000\n\n", "+0000"},
		{"obsolete zone name", `date :originalzone :matches "date" "zone"`, "Date: 31 Dec 2026 15:30:45 EST\n\n", "-0500"},
		{"no weekday, no seconds", `date :zone "+0000" :matches "date" "time"`, "Date: 31 Dec 2026 15:30 -0500\n\n", "20:30:00"},
		{"received after the semicolon", `date :zone "+0000" :matches "received" "date"`,
			"Received: from a.example (a.example [192.0.2.1]) by mx.example.gov.vn; Sat, 2 Jan 2027 01:02:03 +0700 (ICT)\n\n", "2027-01-01"},
		{"comments and military zone", `date :originalzone :matches "date" "zone"`, "Date: 31 Dec 2026 15:30 Z (military)\n\n", "-0000"},
		{"first field only", `date :originalzone :matches "date" "zone"`, "Date: 31 Dec 2026 15:30 -0500\nDate: 31 Dec 2026 15:30 +0100\n\n", "-0500"},
		{"julian epoch", `date :originalzone :matches "date" "julian"`, "Date: 17 Nov 1858 00:00:00 +0000\n\n", "0"},
		{"no header", `date :matches "date" "year"`, "Subject: x\n\n", ""},
		{"not a date", `date :matches "date" "year"`, "Date: yesterday at noon\n\n", ""},
		{"no such day", `date :matches "date" "year"`, "Date: 30 Feb 2026 10:00:00 +0000\n\n", ""},
	}
	for _, c := range cases {
		want := "fileinto:" + c.want
		if c.want == "" {
			want = "implicit"
		}
		script := `require ["date", "variables", "fileinto"]; if ` + c.test + ` "*" { fileinto "${0}"; }`
		if got := runWith(t, script, c.msg, RunOptions{Zone: ict}); got != want {
			t.Errorf("%s: got %q, want %q\n%s", c.name, got, want, script)
		}
	}
}

// TestDateComparators checks relational matches on date parts: fixed-width parts compare as strings, julian needs
// i;ascii-numeric (RFC 5260 section 4.3), and :count counts the one part.
func TestDateComparators(t *testing.T) {
	const req = `require ["date", "relational", "comparator-i;ascii-numeric"]; `
	cases := []struct {
		script string
		match  bool
	}{
		{`if currentdate :value "ge" "date" "2026-12-20" { discard; }`, true},
		{`if currentdate :value "gt" "date" "2027-01-01" { discard; }`, false},
		{`if currentdate :value "ge" :comparator "i;ascii-numeric" "julian" "61405" { discard; }`, true},
		{`if currentdate :value "lt" :comparator "i;ascii-numeric" "julian" "61405" { discard; }`, false},
		// "20" is numerically above "9" but sorts below it as a string.
		{`if currentdate :value "gt" :comparator "i;ascii-numeric" "hour" "9" { discard; }`, true},
		{`if currentdate :value "gt" "hour" "9" { discard; }`, false},
		{`if currentdate :value "eq" :comparator "i;ascii-numeric" "month" "12" { discard; }`, true},
		{`if currentdate :count "eq" :comparator "i;ascii-numeric" "year" "1" { discard; }`, true},
		{`if currentdate :contains "std11" "dec" { discard; }`, true},
		{`if currentdate :comparator "i;octet" :contains "std11" "dec" { discard; }`, false},
		{`if currentdate :is "weekday" ["0", "6"] { discard; }`, false},
		{`if currentdate :is "weekday" ["4", "5"] { discard; }`, true},
		// RFC 5260 section 4: without a date the test is false, whatever the match type.
		{`if date :count "eq" :comparator "i;ascii-numeric" "date" "year" "0" { discard; }`, false},
		{`if not date :count "eq" :comparator "i;ascii-numeric" "date" "year" "0" { discard; }`, true},
	}
	for _, c := range cases {
		want := "implicit"
		if c.match {
			want = "discard"
		}
		if got := runWith(t, req+c.script, "\n", RunOptions{Now: fixedNow, Zone: time.UTC}); got != want {
			t.Errorf("%s: got %q, want %q", c.script, got, want)
		}
	}
}

// vacationWindow is the script the CLI writes for `mailserver vacation set --from 2026-12-20 --until 2026-12-31`.
const vacationWindow = `require ["date", "relational", "vacation"];
if allof(currentdate :value "ge" "date" "2026-12-20", currentdate :value "le" "date" "2026-12-31") {
    vacation :days 1 :subject "Nghỉ phép / On leave" "Tôi nghỉ phép đến hết 31/12.";
}`

// TestVacationWindow runs the CLI's vacation script on both sides of each end of its window, in the server's zone.
func TestVacationWindow(t *testing.T) {
	s := mustCompile(t, vacationWindow)
	cases := []struct {
		now  time.Time
		zone *time.Location
		in   bool
	}{
		{time.Date(2026, 12, 19, 23, 59, 59, 0, ict), ict, false},
		{time.Date(2026, 12, 20, 0, 0, 0, 0, ict), ict, true},
		{time.Date(2026, 12, 25, 12, 0, 0, 0, ict), ict, true},
		{time.Date(2026, 12, 31, 23, 59, 59, 0, ict), ict, true},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, ict), ict, false},
		{time.Date(2026, 6, 1, 8, 0, 0, 0, ict), ict, false},
		// 17:30 UTC on the 19th is already the 20th in Hà Nội: the server's zone decides.
		{time.Date(2026, 12, 19, 17, 30, 0, 0, time.UTC), ict, true},
		{time.Date(2026, 12, 19, 17, 30, 0, 0, time.UTC), time.UTC, false},
		{time.Date(2026, 12, 31, 17, 30, 0, 0, time.UTC), ict, false},
		{time.Date(2026, 12, 31, 17, 30, 0, 0, time.UTC), time.UTC, true},
	}
	for _, c := range cases {
		res, err := s.Run(newMessage("From: a@example.net\n\n"), Envelope{}, RunOptions{Now: c.now, Zone: c.zone})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Vacation != nil; got != c.in {
			t.Errorf("at %v in %v: vacation %v, want %v", c.now, c.zone, got, c.in)
		}
		if c.in && (res.Vacation.Days != 1 || res.Vacation.Subject != "Nghỉ phép / On leave" || !res.ImplicitKeep) {
			t.Errorf("at %v: vacation %+v, implicit keep %v", c.now, res.Vacation, res.ImplicitKeep)
		}
	}
}

// TestCurrentdateDefaultsToNow checks that a zero RunOptions.Now reads the clock.
func TestCurrentdateDefaultsToNow(t *testing.T) {
	before := time.Now().UTC()
	got := runWith(t, partScript(`currentdate :zone "+0000" :matches "year"`), "\n", RunOptions{})
	after := time.Now().UTC()
	if got != "fileinto:"+before.Format("2006") && got != "fileinto:"+after.Format("2006") {
		t.Fatalf("got %q, want this year", got)
	}
}

// TestRFC5260Examples runs the examples of RFC 5260 sections 4.4, 5.1 and 6.1. Those that add a header field
// (editheader, not supported here) file into a mailbox named after the value instead.
func TestRFC5260Examples(t *testing.T) {
	boss := `require ["date", "relational", "fileinto"];
		if allof(header :is "from" "boss@example.com",
		         date :value "ge" :originalzone "date" "hour" "09",
		         date :value "lt" :originalzone "date" "hour" "17")
		{ fileinto "urgent"; }`
	weekend := `require ["date", "relational", "fileinto"];
		if anyof(date :is "received" "weekday" "0",
		         date :is "received" "weekday" "6")
		{ fileinto "weekend"; }`
	// Ours, in the manner of the RFC's: the sender's zone, kept by :originalzone.
	zone := `require ["date", "variables", "fileinto"];
		if date :originalzone :matches "date" "zone" "*" { fileinto "Original-Zone: ${1}"; }`
	july := `require ["date", "relational", "vacation"];
		if allof(currentdate :value "ge" "date" "2007-06-30",
		         currentdate :value "le" "date" "2007-07-07")
		{ vacation :days 7 "I'm away during the first week in July."; }`
	monthly := `require ["date", "variables", "fileinto"];
		if currentdate :matches "month" "*" { set "month" "${1}"; }
		if currentdate :matches "year"  "*" { set "year" "${1}"; }
		fileinto "${month}-${year}";`
	processing := `require ["variables", "date", "fileinto"];
		if currentdate :matches "std11" "*" { fileinto "Processing-date: ${0}"; }`
	cutoff := `require ["date", "relational", "index"];
		if date :value "gt" :index 2 :zone "-0500" "received"
		        "iso8601" "2007-02-26T09:00:00-05:00"
		{ redirect "aftercutoff@example.org"; }`
	received := func(first, second string) string {
		return "Received: from mx.example.org by mail.example.org; " + first +
			"\nReceived: from client.example.com by mx.example.org; " + second + "\n\n"
	}
	july4 := time.Date(2007, 7, 4, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name, script, msg string
		now               time.Time
		want              string
	}{
		{"boss in hours", boss, "From: boss@example.com\nDate: Tue, 3 Jul 2007 10:15:00 -0800\n\n", july4, "fileinto:urgent"},
		{"boss after hours", boss, "From: boss@example.com\nDate: Tue, 3 Jul 2007 17:00:00 -0800\n\n", july4, "implicit"},
		{"boss before hours", boss, "From: boss@example.com\nDate: Tue, 3 Jul 2007 08:59:59 -0800\n\n", july4, "implicit"},
		{"weekend saturday", weekend, "Received: by mx.example.org; Sat, 7 Jul 2007 12:00:00 +0000\n\n", july4, "fileinto:weekend"},
		{"weekend monday", weekend, "Received: by mx.example.org; Mon, 9 Jul 2007 12:00:00 +0000\n\n", july4, "implicit"},
		{"original zone", zone, "Date: Tue, 3 Jul 2007 10:15:00 -0800\n\n", july4, "fileinto:Original-Zone: -0800"},
		{"july away", july, "\n", july4, "implicit vacation"},
		{"july back", july, "\n", july4.AddDate(0, 0, 4), "implicit"},
		{"monthly folder", monthly, "\n", july4, "fileinto:07-2007"},
		{"processing date", processing, "\n", july4, "fileinto:Processing-date: Wed, 04 Jul 2007 09:00:00 +0000"},
		{"after cutoff", cutoff, received("Mon, 26 Feb 2007 15:00:00 +0000", "Mon, 26 Feb 2007 14:30:00 +0000"), july4,
			"redirect:aftercutoff@example.org"},
		{"before cutoff", cutoff, received("Mon, 26 Feb 2007 15:00:00 +0000", "Mon, 26 Feb 2007 13:59:59 +0000"), july4, "implicit"},
	}
	for _, c := range cases {
		if got := runWith(t, c.script, c.msg, RunOptions{Now: c.now, Zone: time.UTC}); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

// TestIndex checks :index and :last on header, address and date (RFC 5260 section 6): fields counted from 1 per
// header name, from the end with :last, and no match past the last field.
func TestIndex(t *testing.T) {
	const msg = "Received: from mx2 by mx3; Sat, 2 Jan 2027 10:00:00 +0700\n" +
		"Received: from mx1 by mx2; Sat, 2 Jan 2027 09:00:00 +0700\n" +
		"Received: from client by mx1; Fri, 1 Jan 2027 08:00:00 +0700\n" +
		"To: a@first.example\nTo: \"Đặng Văn Đức\" <duc@second.example>, c@third.example\n" +
		"X-A: one\nX-B: b1\nX-B: b2\n\n"
	const req = `require ["index", "date", "relational", "comparator-i;ascii-numeric"]; `
	cases := []struct {
		test  string
		match bool
	}{
		{`header :index 1 :contains "received" "by mx3"`, true},
		{`header :index 1 :contains "received" "by mx2"`, false},
		{`header :index 2 :contains "received" "by mx2"`, true},
		{`header :index 1 :last :contains "received" "by mx1"`, true},
		{`header :index 3 :last :contains "received" "by mx3"`, true},
		{`header :index 4 :contains "received" ""`, false},
		{`header :index 4 :last :contains "received" ""`, false},
		{`header :contains "received" "by mx1"`, true}, // without :index, every field
		{`header :index 2 :is ["x-a", "x-b"] "b2"`, true},
		{`header :index 2 :is ["x-a", "x-b"] "one"`, false},
		{`header :index 1 :count "eq" :comparator "i;ascii-numeric" ["x-a", "x-b"] "2"`, true},
		{`address :index 2 :domain :is "to" "third.example"`, true}, // the index counts fields, not addresses
		{`address :index 1 :domain :is "to" "third.example"`, false},
		{`address :index 1 :last :localpart :is "to" "duc"`, true},
		{`address :index 2 :last :all :is "to" "a@first.example"`, true},
		{`date :index 2 :zone "+0700" :is "received" "hour" "09"`, true},
		{`date :index 1 :last :zone "+0700" :is "received" "date" "2027-01-01"`, true},
		{`date :zone "+0700" :is "received" "hour" "10"`, true}, // without :index, the first field
		{`date :zone "+0700" :is "received" "hour" "09"`, false},
		{`date :index 9 :zone "+0700" :is "received" "hour" "10"`, false},
	}
	for _, c := range cases {
		want := "implicit"
		if c.match {
			want = "discard"
		}
		if got := runWith(t, req+"if "+c.test+" { discard; }", msg, RunOptions{}); got != want {
			t.Errorf("%s: got %q, want %q", c.test, got, want)
		}
	}
}

// TestDateCompileErrors checks that bad date and index arguments are refused with their place in the script.
func TestDateCompileErrors(t *testing.T) {
	cases := []compileErrorCase{
		{"require \"date\";\nif currentdate :zone \"+7\" \"date\" \"2026-01-01\" { keep; }", 2, 22, `zone "+7" is not +hhmm`},
		{"require \"date\";\nif date :zone \"+2460\" \"date\" \"date\" \"2026-01-01\" { keep; }", 2, 15, `out of range`},
		{"require \"date\";\nif date :zone \"0700\" \"date\" \"date\" \"2026-01-01\" { keep; }", 2, 15, `is not +hhmm`},
		{"require \"date\";\nif currentdate \"dat\" \"2026-01-01\" { keep; }", 2, 16, `unknown date part "dat"`},
		{"require \"date\";\nif date \"date\" \"weekdays\" \"1\" { keep; }", 2, 16, `unknown date part "weekdays"`},
		{"if currentdate \"date\" \"2026-01-01\" { keep; }", 1, 4, `require "date" missing`},
		{"require \"date\";\nif currentdate :originalzone \"date\" \"x\" { keep; }", 2, 16, `does not take the tag ":originalzone"`},
		{"require \"date\";\nif date :zone \"+0700\" :originalzone \"date\" \"date\" \"x\" { keep; }", 2, 4, `only one of :zone :originalzone`},
		{"require \"date\";\nif date \"date\" \"x\" { keep; }", 2, 4, `"date" needs 3 arguments`},
		{"require \"date\";\nif date [\"date\", \"received\"] \"date\" \"x\" { keep; }", 2, 9, `argument 1 of "date" must be a string`},
		{"require \"date\";\nif currentdate :index 1 \"date\" \"x\" { keep; }", 2, 16, `does not take the tag ":index"`},
		{"if header :index 1 \"a\" \"b\" { keep; }", 1, 11, `require "index" missing`},
		{"require \"index\";\nif header :last \"a\" \"b\" { keep; }", 2, 11, `":last" needs ":index"`},
		{"require \"index\";\nif header :index 0 \"a\" \"b\" { keep; }", 2, 18, `counts fields from 1`},
		{"require \"index\";\nif header :index \"1\" \"a\" \"b\" { keep; }", 2, 11, `must be followed by a number`},
		{"require \"index\";\nif envelope :index 1 \"to\" \"b\" { keep; }", 2, 4, `require "envelope" missing`},
		{"require [\"index\", \"envelope\"];\nif envelope :index 1 \"to\" \"b\" { keep; }", 2, 13, `does not take the tag ":index"`},
	}
	expectCompileErrors(t, cases)
}

// TestDateVariables checks that a zone or date part built from variables is checked when the test runs: a bad
// one makes the test false, not the run an error.
func TestDateVariables(t *testing.T) {
	const head = `require ["date", "variables", "fileinto"]; `
	cases := []struct{ script, want string }{
		{head + `set "z" "+0700"; set "p" "date"; if currentdate :zone "${z}" :matches "${p}" "*" { fileinto "${0}"; }`, "fileinto:2027-01-01"},
		{head + `set "z" "+7"; if currentdate :zone "${z}" :matches "date" "*" { fileinto "${0}"; }`, "implicit"},
		{head + `set "p" "fortnight"; if currentdate :matches "${p}" "*" { fileinto "${0}"; }`, "implicit"},
		{head + `set "h" "Date"; if date :originalzone :matches "${h}" "hour" "*" { fileinto "${0}"; }`, "fileinto:15"},
	}
	for _, c := range cases {
		if got := runWith(t, c.script, "Date: Thu, 31 Dec 2026 15:30:45 -0500\n\n", RunOptions{Now: fixedNow, Zone: time.UTC}); got != c.want {
			t.Errorf("%s: got %q, want %q", c.script, got, c.want)
		}
	}
}

func TestCapabilitiesListDateAndIndex(t *testing.T) {
	caps := Capabilities()
	for _, ext := range []string{"date", "index"} {
		if !slices.Contains(caps, ext) {
			t.Errorf("Capabilities() = %v, lacks %q", caps, ext)
		}
		if _, err := Compile([]byte(`require "`+ext+`";`), Options{}); err != nil {
			t.Errorf("require %q: %v", ext, err)
		}
	}
}
