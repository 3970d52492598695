// Package sieve compiles and runs Sieve mail filters (RFC 5228) for delivery and ManageSieve. It does no I/O: the
// caller hands a run the message and envelope and carries out the Result.
//
// # Supported
//
//   - RFC 5228: require, if/elsif/else, stop, keep, discard, redirect; "fileinto"; tests address, allof, anyof,
//     "envelope" (parts "from" and "to"), exists, false, header, not, size (:over/:under with K, M, G), true;
//     match types :is, :contains and :matches (* and ?, \ escapes); address parts :all, :localpart, :domain;
//     string lists; "text:" strings with dot-stuffing; # and /* */ comments. Encoded characters are not supported.
//   - Comparators "i;ascii-casemap" (the default), "i;octet", "i;ascii-numeric" (RFC 4790; require
//     "comparator-i;ascii-numeric") and ours, below.
//   - "mailbox" (RFC 5490): fileinto :create, and the mailboxexists test, answered by RunOptions.MailboxExists.
//   - "copy" (RFC 3894): :copy on fileinto and redirect.
//   - "imap4flags" (RFC 5232): setflag, addflag, removeflag (on the internal variable or named variables),
//     hasflag, :flags on keep and fileinto. Flags are split at spaces and kept once, compared without case.
//   - "vacation" (RFC 5230) with :days, :subject, :from, :addresses, :mime, :handle; "vacation-seconds"
//     (RFC 6131) with :seconds. The Result carries the action; the rules of RFC 3834 (bulk and list mail, the
//     null sender, one reply per sender per interval) are the caller's.
//   - "body" (RFC 5173): :raw (Message.RawBody), :text (the default) and :content, which reads the message's
//     text (Message.BodyText) when a listed type is "", "text" or "text/..." and matches nothing otherwise.
//   - "variables" (RFC 5229): set with :lower, :upper, :lowerfirst, :upperfirst, :quotewildcard, :length;
//     ${name} in strings; ${0}..${9} from the last successful :matches; the string test.
//   - "relational" (RFC 5231): :count and :value with gt, ge, lt, le, eq, ne.
//   - "date" (RFC 5260): the date test, on the first field of a header (or the one :index picks) holding an
//     RFC 5322 date-time (after the last ";" for Received; obsolete zone names read as RFC 5322 section 4.3
//     says), and currentdate, on RunOptions.Now (zero: the clock, read once per run). Date parts year, month,
//     day, date, julian, hour, minute, second, time, iso8601 ("2026-12-31T20:30:45+07:00"), std11, zone
//     ("+0700", "-0000" kept under :originalzone) and weekday (0 is Sunday). :zone "+hhmm" shifts the time,
//     :originalzone keeps the header's; without them the parts are read in RunOptions.Zone (nil: time.Local).
//     A missing or invalid date makes the test false whatever the match type, :count included. A zone or date
//     part written as a constant is checked at compile time; one built from variables that turns out invalid
//     makes the test false.
//   - "index" (RFC 5260 section 6): :index N (from 1) and :last on header, address and date, counting the
//     fields of each header name, not the addresses in them.
//
// require refuses every extension not listed here, and every use of an extension the script did not require.
//
// A vacation between two dates, as the CLI writes it (dates compare as strings, in the server's zone):
//
//	require ["date", "relational", "vacation"];
//	if allof(currentdate :value "ge" "date" "2026-12-20", currentdate :value "le" "date" "2026-12-31") {
//	    vacation :days 1 :subject "Nghỉ phép" "...";
//	}
//
// # The Vietnamese comparator
//
// "vnd-mailserver-vi-fold" compares text folded by message.Fold: lower case, diacritics removed, đ as d, runs of
// white space as one space. A script requires it as "comparator-vnd-mailserver-vi-fold" (RFC 5228 section
// 2.7.3):
//
//	require "comparator-vnd-mailserver-vi-fold";
//	if header :comparator "vnd-mailserver-vi-fold" :contains "subject" "bao cao" { ... }
//
// matches "Báo cáo tháng 12". With :matches, the match variables are cut from the folded text.
//
// # Limits
//
// Limits bounds a script: its size (1 MiB), its commands (20,000), the depth of blocks and tests (32, checked
// while parsing, so no script can exhaust the stack), and per run the actions (256), the distinct redirect
// targets (5) and a step budget (100,000 steps: a command or test, or a KiB of text compared). :matches runs in
// O(len(pattern) x len(text)) at worst. Variables and expanded strings are cut at 64 KiB (RFC 5229 section 3).
// A run that reaches a limit returns an error and no result; the caller keeps the message (RFC 5228 section
// 2.10.6). Options.Redirect, the organisation's forwarding policy, is asked at compile time for constant targets
// and at run time for every target.
package sieve
