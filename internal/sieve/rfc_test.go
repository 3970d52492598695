package sieve

import (
	"strings"
	"testing"
)

const rfc5228Example = `#
# Example Sieve Filter
# Declare any optional features or extension used by the script
#
require ["fileinto"];

#
# Handle messages from known mailing lists
# Move messages from IETF filter discussion list to filter mailbox
#
if header :is "Sender" "owner-ietf-mtgs@ietf.org"
        {
        fileinto "filter";  # move to "filter" mailbox
        }
#
# Keep all messages to or from people in my company
#
elsif address :DOMAIN :is ["From", "To"] "example.com"
        {
        keep;               # keep in "In" mailbox
        }

#
# Try and catch unsolicited email.  If a message is not to me,
# or it contains a subject known to be spam, file it away.
#
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        fileinto "spam";   # move to "spam" mailbox
        }
else
        {
        # Move all other (non-company) mail to "personal"
        # mailbox.
        fileinto "personal";
        }
`

// TestRFC5228Example runs the script of RFC 5228 section 9 on one message for each of its branches.
func TestRFC5228Example(t *testing.T) {
	cases := []struct{ msg, want string }{
		{"Sender: owner-ietf-mtgs@ietf.org\nTo: me@example.com\n\n", "fileinto:filter"},
		{"From: Boss <boss@EXAMPLE.com>\nTo: me@example.org\n\n", "keep"},
		{"From: x@spam.test\nTo: someone@else.test\n\n", "fileinto:spam"},
		{"From: x@spam.test\nTo: me@example.org\nCc: me@example.com\nSubject: MAKE your MONEY very FAST\n\n", "fileinto:spam"},
		{"From: x@friend.test\nCc: Me <me@example.com>\nSubject: lunch\n\n", "fileinto:personal"},
	}
	s := mustCompile(t, rfc5228Example)
	for _, c := range cases {
		res, err := s.Run(newMessage(c.msg), Envelope{}, RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := summary(res); got != c.want {
			t.Errorf("message %q: got %q, want %q", c.msg, got, c.want)
		}
	}
}

// TestRuns runs scripts of the RFCs' examples and of our own on one message and compares the actions.
func TestRuns(t *testing.T) {
	const msg = "From: \"Nguyễn Văn An\" <an.nv@sotttt.example.gov.vn>\n" +
		"To: me@example.com, \"Trần Thị B\" <b@example.com>\nCc: c@example.org\n" +
		"Subject: [acme-users] [fwd] version 1.0 is out\nX-Priority: 2\n" +
		"List-ID: ACME users <acme-users@lists.example.org>\n\nThe missile launch is MAKE MONEY FAST.\n"
	env := Envelope{From: "bounce@lists.example.org", To: "me@example.com"}
	cases := []struct{ name, script, want string }{
		{"empty script keeps", ``, "implicit"},
		{"keep", `keep;`, "keep"},
		{"discard", `discard;`, "discard"},
		{"discard then keep", `discard; keep;`, "keep discard"},
		{"stop ends", `stop; discard;`, "implicit"},
		{"fileinto cancels implicit keep", `require "fileinto"; fileinto "A";`, "fileinto:A"},
		{"fileinto :copy keeps", `require ["fileinto", "copy"]; fileinto :copy "A";`, "implicit fileinto:A+copy"},
		{"fileinto twice once", `require "fileinto"; fileinto "A"; fileinto "A";`, "fileinto:A"},
		{"fileinto INBOX is keep", `require "fileinto"; keep; fileinto "INBOX";`, "keep"},
		{"fileinto :create", `require ["fileinto", "mailbox"]; fileinto :create "Lưu/Công văn";`, "fileinto:Lưu/Công văn+create"},
		{"redirect", `redirect "a@example.net";`, "redirect:a@example.net"},
		{"redirect :copy", `require "copy"; redirect :copy "a@example.net";`, "implicit redirect:a@example.net+copy"},
		{"redirect twice sent once", `redirect "a@example.net"; redirect "A@example.net";`, "redirect:a@example.net"},
		{"size over K", `if size :over 1K { discard; }`, "implicit"},
		{"size under K", `if size :under 1K { discard; }`, "discard"},
		{"exists all", `if exists ["From", "X-Priority"] { discard; }`, "discard"},
		{"exists one missing", `if exists ["From", "X-Nope"] { discard; }`, "implicit"},
		{"header default casemap", `if header :is "x-priority" "2" { discard; }`, "discard"},
		{"header contains casemap", `if header :contains "subject" "VERSION" { discard; }`, "discard"},
		{"header octet", `if header :comparator "i;octet" :contains "subject" "VERSION" { discard; }`, "implicit"},
		{"matches ? and *", `if header :matches "x-priority" "?" { discard; }`, "discard"},
		{"matches escape", `if header :matches "subject" "\\[*" { discard; }`, "discard"},
		{"escaped star is literal", `if header :matches "subject" "\\*" { discard; }`, "implicit"},
		{"address localpart", `if address :localpart :is "from" "an.nv" { discard; }`, "discard"},
		{"address domain list", `if address :domain :is "to" "example.com" { discard; }`, "discard"},
		{"address all decoded name", `if address :all :is "to" "b@example.com" { discard; }`, "discard"},
		{"envelope from", `require "envelope"; if envelope :domain :is "from" "lists.example.org" { discard; }`, "discard"},
		{"envelope to", `require "envelope"; if envelope :localpart :is "to" "me" { discard; }`, "discard"},
		{"true false not", `if allof (true, not false) { discard; }`, "discard"},
		{"anyof false", `if anyof (false, false) { discard; }`, "implicit"},
		{"elsif chain", `if false { discard; } elsif true { keep; } else { discard; }`, "keep"},
		{"else", `if false { discard; } elsif false { keep; } else { stop; } discard;`, "implicit"},
		{"vi-fold", `require "comparator-vnd-mailserver-vi-fold";
			if header :comparator "vnd-mailserver-vi-fold" :matches "from" "\"nguyen van an\" <*>" { discard; }`, "discard"},
		{"vi-fold address", `require "comparator-vnd-mailserver-vi-fold";
			if header :comparator "vnd-mailserver-vi-fold" :matches "to" "*tran thi b*" { discard; }`, "discard"},
		// RFC 5173 section 7.
		{"body raw", `require "body"; if body :raw :contains "MAKE MONEY FAST" { discard; }`, "discard"},
		{"body content text", `require "body"; if body :content "text" :contains "missile" { discard; }`, "discard"},
		{"body content other", `require "body"; if body :content "image/png" :contains "missile" { discard; }`, "implicit"},
		{"body text default", `require "body"; if body :text :contains "launch" { discard; }`, "discard"},
		// RFC 5231 section 6.
		{"count ge", `require ["relational", "comparator-i;ascii-numeric"];
			if header :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] ["3"] { discard; }`, "implicit"},
		{"address count eq", `require ["relational", "comparator-i;ascii-numeric"];
			if address :count "eq" :comparator "i;ascii-numeric" :all ["to", "cc"] ["3"] { discard; }`, "discard"},
		{"value lt numeric", `require ["relational", "comparator-i;ascii-numeric"];
			if header :value "lt" :comparator "i;ascii-numeric" ["x-priority"] ["3"] { discard; }`, "discard"},
		{"value gt casemap", `require "relational"; if header :value "gt" "subject" "[a" { discard; }`, "discard"},
		{"numeric non-digit is infinity", `require ["relational", "comparator-i;ascii-numeric"];
			if header :value "gt" :comparator "i;ascii-numeric" "subject" "99999" { discard; }`, "discard"},
		// RFC 5232 section 6.
		{"setflag and fileinto", `require ["imap4flags", "fileinto"];
			if header :contains "from" "an.nv@" { setflag "\\Flagged"; fileinto "From Boss"; }`,
			"fileinto:From Boss[\\Flagged] flags[\\Flagged]"},
		{"flags add remove", `require "imap4flags"; addflag "\\Seen \\Flagged"; addflag ["\\seen", "$Work"]; removeflag "\\flagged";`,
			"implicit flags[\\Seen $Work]"},
		{"keep :flags", `require "imap4flags"; keep :flags ["\\Answered", "\\Answered"];`, "keep[\\Answered]"},
		{"hasflag", `require "imap4flags"; setflag "A B"; if hasflag :is "b" { discard; }`, "discard flags[A B]"},
		{"hasflag variable", `require ["imap4flags", "variables"]; setflag "v" "X"; if hasflag "v" "x" { discard; }`, "discard"},
		{"hasflag count", `require ["imap4flags", "relational"]; addflag ["A", "B", "C"]; if hasflag :count "eq" "3" { discard; }`, "discard flags[A B C]"},
		// RFC 5229 sections 3 and 4.
		{"matches variables", `require ["fileinto", "variables"];
			if header :matches "List-ID" "*<*@*" { fileinto "INBOX.lists.${2}"; stop; }`, "fileinto:INBOX.lists.acme-users"},
		{"matches leftmost shortest", `require ["fileinto", "variables"];
			if header :matches "Subject" "[*] *" { fileinto "INBOX.lists.${1}"; fileinto "${2}"; stop; }`,
			"fileinto:INBOX.lists.acme-users fileinto:[fwd] version 1.0 is out"},
		{"set modifiers", `require ["variables", "fileinto"];
			set "a" "juMBlEd lETteRS";
			set :length "b" "${a}"; fileinto "${b}";
			set :lower "b" "${a}"; fileinto "${b}";
			set :upperfirst "b" "${a}"; fileinto "${b}";
			set :upperfirst :lower "b" "${a}"; fileinto "${b}";
			set :quotewildcard "b" "Rock*"; fileinto "${b}";`,
			"fileinto:15 fileinto:jumbled letters fileinto:JuMBlEd lETteRS fileinto:Jumbled letters fileinto:Rock\\*"},
		{"string test", `require "variables"; set "x" "Hà Nội"; if string :is "${x}" "hà nội" { discard; }`, "discard"},
		{"casemap folds ASCII only", `require "variables"; set "x" "Hà Nội"; if string :is "${x}" "HÀ NỘI" { discard; }`, "implicit"},
		{"string count skips empty", `require ["variables", "relational"]; if string :count "eq" ["a", "", "b"] "2" { discard; }`, "discard"},
		{"unknown variable empty", `require ["variables", "fileinto"]; fileinto "x${nope}y";`, "fileinto:xy"},
		{"variables not required stay", `require "fileinto"; fileinto "x${nope}y";`, "fileinto:x${nope}y"},
		{"variable case", `require ["variables", "fileinto"]; set "Box" "B"; fileinto "${box}";`, "fileinto:B"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := summary(mustRun(t, c.script, newMessage(msg), env)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestVacation runs the examples of RFC 5230 section 7.
func TestVacation(t *testing.T) {
	msg := newMessage("From: a@example.net\nSubject: cyrus bug\n\n")
	res := mustRun(t, `require ["vacation"];
   if header :contains "subject" "cyrus" {
       vacation "I'm out -- send mail to cyrus-bugs";
   } else {
       vacation "I'm out -- call me at +1 304 555 0123";
   }`, msg, Envelope{})
	if v := res.Vacation; v == nil || v.Reason != "I'm out -- send mail to cyrus-bugs" || v.Days != 7 || v.Seconds != 7*86400 || !res.ImplicitKeep {
		t.Fatalf("vacation = %+v, implicit keep %v", v, res.ImplicitKeep)
	}
	res = mustRun(t, `require ["vacation", "variables"];
   if header :matches "subject" "*" {
       vacation :subject "Automatic response to: ${1}" "I'm away";
   }`, msg, Envelope{})
	if v := res.Vacation; v == nil || v.Subject != "Automatic response to: cyrus bug" {
		t.Fatalf("vacation = %+v", v)
	}
	res = mustRun(t, `require "vacation";
   vacation :days 23 :addresses ["tjs@example.edu", "ts4z@landru.example.edu"] :from "tjs@example.edu" :handle "x"
   "I'm away until October 19.
   If it's an emergency, call 911, I guess." ;`, msg, Envelope{})
	if v := res.Vacation; v == nil || v.Days != 23 || len(v.Addresses) != 2 || v.From != "tjs@example.edu" || v.Handle != "x" ||
		!strings.Contains(v.Reason, "call 911") {
		t.Fatalf("vacation = %+v", v)
	}
	res = mustRun(t, "require \"vacation\";\nvacation :mime :days 0 text:\nContent-Type: text/plain; charset=utf-8\n\nTôi đang nghỉ phép.\n..\n.\n;", msg, Envelope{})
	want := "Content-Type: text/plain; charset=utf-8\r\n\r\nTôi đang nghỉ phép.\r\n.\r\n"
	if v := res.Vacation; v == nil || !v.Mime || v.Days != 1 || v.Reason != want {
		t.Fatalf("vacation = %+v, want reason %q", v, want)
	}
	res = mustRun(t, `require ["vacation", "vacation-seconds"]; vacation :seconds 600 "brb";`, msg, Envelope{})
	if v := res.Vacation; v == nil || v.Seconds != 600 || v.Days != 0 {
		t.Fatalf("vacation = %+v", v)
	}
	_, err := mustCompile(t, `require "vacation"; vacation "a"; vacation "b";`).Run(msg, Envelope{}, RunOptions{})
	if err == nil {
		t.Fatal("two vacations in one run: no error")
	}
}
