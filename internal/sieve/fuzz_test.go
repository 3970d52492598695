package sieve

import "testing"

// FuzzCompile feeds Compile arbitrary scripts and runs those it accepts: neither may panic or loop.
func FuzzCompile(f *testing.F) {
	f.Add([]byte(rfc5228Example))
	f.Add([]byte("require [\"variables\", \"fileinto\"];\nif header :matches \"subject\" \"[*] *\" { fileinto \"${1}\"; }"))
	f.Add([]byte(vacationWindow))
	f.Add([]byte(`require ["date", "index", "relational"]; if date :value "gt" :index 1 :last :zone "-0500" "received" "iso8601" "2007" { discard; }`))
	msg := newMessage("From: a@example.com\nSubject: [x] Báo cáo\nDate: Thu, 31 Dec 2026 15:30:45 -0500\n" +
		"Received: by mx.example; 1 Jan 2027 01:00 +0700\n\nbody")
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Compile(src, Options{Limits: Limits{MaxSteps: 10_000}})
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T, want *Error", err)
			}
			return
		}
		if _, err := s.Run(msg, Envelope{From: "b@example.net"}, RunOptions{MailboxExists: func(string) bool { return true }}); err != nil {
			_ = err // run-time errors are expected outcomes; panics are what the fuzzer hunts
		}
	})
}
