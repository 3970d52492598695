package admin

import (
	"errors"
	"time"

	"mailserver/internal/store"
	"mailserver/internal/vacation"
)

// VacationScript is the name of the filter script `vacation set` writes for a user.
const VacationScript = vacation.ScriptName

// VacationRequest is an automatic reply an administrator sets for a user (a colleague who left in a hurry): the
// dates it runs between (zero: from now, or with no end), the reply's subject (empty: "Trả lời tự động / Auto: " and the
// original's) and text (empty: a Vietnamese and English text naming the dates).
type VacationRequest struct {
	Address string    `json:"address"`
	From    time.Time `json:"from,omitzero"`
	Until   time.Time `json:"until,omitzero"`
	Subject string    `json:"subject,omitempty"`
	Message string    `json:"message,omitempty"`
	Days    int       `json:"days,omitempty"` // between two replies to one sender; 0: 1 day
}

// SetVacation writes the Sieve script of an automatic reply for a user and makes it the active one. The user's own
// active script, if another, stops running while it is on (one script runs at a time): VacationOff runs it again.
func (s *Service) SetVacation(req VacationRequest) error {
	a, err := s.sieveAccount(req.Address)
	if err != nil {
		return err
	}
	if !req.From.IsZero() && !req.Until.IsZero() && req.Until.Before(req.From) {
		return failf(ErrInvalid, "the reply would end (%s) before it starts (%s)", day(req.Until), day(req.From))
	}
	previous, _, err := s.st.ActiveSieveScript(a.ID)
	if err != nil {
		return err
	}
	if previous == VacationScript { // set again: keep what runs after it
		previous = ""
		if old, err := s.st.SieveScript(a.ID, VacationScript); err == nil {
			previous = previousScript(string(old))
		}
	}
	return s.PutSieveScript(a.Address, VacationScript, vacationScript(req, previous), true)
}

// VacationOff removes a user's automatic reply set by SetVacation, and runs again the script that was active
// before it (none if there was none).
func (s *Service) VacationOff(address string) error {
	a, err := s.sieveAccount(address)
	if err != nil {
		return err
	}
	src, err := s.st.SieveScript(a.ID, VacationScript)
	if errors.Is(err, store.ErrNotFound) {
		return failf(ErrNotFound, "%s has no automatic reply set (`mailserver vacation set` sets one)", a.Address)
	}
	if err != nil {
		return err
	}
	active, _, err := s.st.ActiveSieveScript(a.ID)
	if err != nil {
		return err
	}
	if active == VacationScript {
		next := previousScript(string(src))
		if _, err := s.st.SieveScript(a.ID, next); next == "" || err != nil {
			next = ""
		}
		if err := s.ActivateSieveScript(a.Address, next); err != nil {
			return err
		}
	}
	return s.RemoveSieveScript(a.Address, VacationScript)
}

// vacationScript is the script of req; previous names the script to run again afterwards.
func vacationScript(req VacationRequest, previous string) string {
	return vacation.Script(vacation.Settings{From: req.From, Until: req.Until, Subject: req.Subject,
		Message: req.Message, Days: req.Days}, previous)
}

func previousScript(src string) string { return vacation.PreviousScript(src) }

func day(t time.Time) string { return vacation.Day(t) }
