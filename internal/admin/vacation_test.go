package admin_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/sieve"
)

type vacationMessage struct{ raw string }

func (m vacationMessage) HeaderValues(name string) []string {
	if strings.EqualFold(name, "subject") {
		return []string{"Hỏi việc"}
	}
	return nil
}
func (m vacationMessage) Size() int64      { return int64(len(m.raw)) }
func (m vacationMessage) BodyText() string { return "" }
func (m vacationMessage) RawBody() []byte  { return nil }

// The script `vacation set` writes replies within its dates only, with the administrator's text as given (a line
// starting with a dot included), and stops the user's own script only while it is on.
func TestSetVacationWritesAScriptThatRepliesWithinItsDates(t *testing.T) {
	svc, st := newServiceWithUser(t)
	const user = "an.nv@vinhyen.gov.vn"
	if err := svc.PutSieveScript(user, "lọc thư", "require \"fileinto\";\r\nfileinto \"Lưu\";\r\n", true); err != nil {
		t.Fatal(err)
	}
	zone := time.FixedZone("ICT", 7*3600)
	from, until := time.Date(2026, 12, 20, 0, 0, 0, 0, zone), time.Date(2026, 12, 31, 0, 0, 0, 0, zone)
	text := "Tôi nghỉ phép.\n.Dòng bắt đầu bằng dấu chấm\nI am on leave."
	err := svc.SetVacation(admin.VacationRequest{Address: user, From: from, Until: until, Subject: `Nghỉ "phép"`, Message: text})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := st.Account(user)
	name, src, err := st.ActiveSieveScript(a.ID)
	if err != nil || name != admin.VacationScript {
		t.Fatalf("active %q (%v), want the vacation script", name, err)
	}
	script, err := svc.CompileSieve(a, src)
	if err != nil {
		t.Fatalf("the written script does not compile: %v\n%s", err, src)
	}
	for _, c := range []struct {
		at    time.Time
		reply bool
	}{
		{time.Date(2026, 12, 19, 23, 0, 0, 0, zone), false},
		{time.Date(2026, 12, 20, 8, 0, 0, 0, zone), true},
		{time.Date(2026, 12, 31, 23, 0, 0, 0, zone), true},
		{time.Date(2027, 1, 1, 8, 0, 0, 0, zone), false},
	} {
		res, err := script.Run(vacationMessage{}, sieve.Envelope{From: "binh@vinhyen.gov.vn", To: user},
			sieve.RunOptions{Now: c.at, Zone: zone})
		if err != nil {
			t.Fatal(err)
		}
		if (res.Vacation != nil) != c.reply {
			t.Errorf("at %s: reply %v, want %v", c.at, res.Vacation != nil, c.reply)
			continue
		}
		if res.Vacation != nil && (res.Vacation.Subject != `Nghỉ "phép"` ||
			res.Vacation.Reason != "Tôi nghỉ phép.\r\n.Dòng bắt đầu bằng dấu chấm\r\nI am on leave.\r\n") {
			t.Errorf("reply %q / %q", res.Vacation.Subject, res.Vacation.Reason)
		}
	}

	// Set again (new dates): the user's own script is still the one to come back.
	if err := svc.SetVacation(admin.VacationRequest{Address: user}); err != nil {
		t.Fatal(err)
	}
	if err := svc.VacationOff(user); err != nil {
		t.Fatal(err)
	}
	if name, _, _ := st.ActiveSieveScript(a.ID); name != "lọc thư" {
		t.Errorf("after vacation off the active script is %q, want the user's own", name)
	}
	if _, err := st.SieveScript(a.ID, admin.VacationScript); err == nil {
		t.Error("the vacation script is still stored")
	}
	if err := svc.VacationOff(user); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("vacation off twice: %v, want not found", err)
	}
	err = svc.SetVacation(admin.VacationRequest{Address: user, From: until, Until: from})
	if !errors.Is(err, admin.ErrInvalid) {
		t.Errorf("an end before the start: %v, want invalid", err)
	}
}

// Without a text, the reply names the dates in Vietnamese, then in English.
func TestSetVacationWithoutTextRepliesInBothLanguages(t *testing.T) {
	svc, st := newServiceWithUser(t)
	const user = "an.nv@vinhyen.gov.vn"
	until := time.Date(2026, 12, 31, 0, 0, 0, 0, time.Local)
	if err := svc.SetVacation(admin.VacationRequest{Address: user, Until: until}); err != nil {
		t.Fatal(err)
	}
	a, _ := st.Account(user)
	_, src, _ := st.ActiveSieveScript(a.ID)
	for _, want := range []string{"31/12/2026", "31 December 2026", "currentdate :value \"le\" \"date\" \"2026-12-31\""} {
		if !strings.Contains(string(src), want) {
			t.Errorf("the script lacks %q:\n%s", want, src)
		}
	}
}
