package sieve

import "testing"

// TestViFold checks the Vietnamese comparator: case, diacritics and đ folded on both sides, and nothing else.
func TestViFold(t *testing.T) {
	cases := []struct {
		match, key, subject string
		want                bool
	}{
		{":contains", "bao cao", "Báo cáo tháng 12", true},
		{":contains", "BÁO CÁO", "bao cao thang 12", true},
		{":is", "de nghi dieu dong", "Đề nghị điều động", true},
		{":is", "đề nghị", "Đề   nghị", true},
		{":matches", "cong van so * ve *", "Công văn số 15/UBND về việc họp", true},
		{":contains", "bao cao", "Báo-cáo tháng 12", false},
		{":contains", "ba", "Bà", true},
		{":is", "bao cao", "Báo cáo tháng 12", false},
	}
	for _, c := range cases {
		script := `require "comparator-vnd-mailserver-vi-fold";
if header :comparator "vnd-mailserver-vi-fold" ` + c.match + ` "subject" "` + c.key + `" { discard; }`
		res := mustRun(t, script, newMessage("Subject: "+c.subject+"\n\n"), Envelope{})
		if res.Discard != c.want {
			t.Errorf("%s %q on %q: got %v, want %v", c.match, c.key, c.subject, res.Discard, c.want)
		}
	}
	// The default comparator folds ASCII only: the rule needs the Vietnamese one.
	res := mustRun(t, `if header :contains "subject" "bao cao" { discard; }`, newMessage("Subject: Báo cáo\n\n"), Envelope{})
	if res.Discard {
		t.Error("i;ascii-casemap folded diacritics")
	}
}
