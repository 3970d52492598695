package sieve

import "testing"

func TestSmoke(t *testing.T) {
	msg := newMessage("From: Nguyễn Văn A <a@example.gov.vn>\nSubject: Báo cáo tháng 12\n\nhello")
	res := mustRun(t, `require ["fileinto", "comparator-vnd-mailserver-vi-fold"];
if header :comparator "vnd-mailserver-vi-fold" :contains "subject" "bao cao" { fileinto "Reports"; }`, msg, Envelope{})
	if got := summary(res); got != "fileinto:Reports" {
		t.Fatalf("got %q", got)
	}
}
