package webmail

import (
	"errors"
	"fmt"

	"mailserver/internal/store"
	"mailserver/internal/vacation"
)

// errScriptRefused is a script the compiler refused (too large for the limits, say).
var errScriptRefused = errors.New("automatic reply script refused")

// vacationOn writes the automatic reply's script and makes it the active one, as admin.Service.SetVacation does:
// the script that was active before is recorded in it, to run again when the reply is turned off (one script runs
// at a time).
func (h *Handler) vacationOn(a store.Account, s vacation.Settings) error {
	previous, _, err := h.store.ActiveSieveScript(a.ID)
	if err != nil {
		return fmt.Errorf("active script: %w", err)
	}
	if previous == vacation.ScriptName { // set again: keep what runs after it
		previous = ""
		if old, err := h.store.SieveScript(a.ID, vacation.ScriptName); err == nil {
			previous = vacation.PreviousScript(string(old))
		}
	}
	src := []byte(vacation.Script(s, previous))
	if _, err := h.settings.compileSieve(a, src); err != nil {
		return fmt.Errorf("%w: %v", errScriptRefused, err)
	}
	detail := fmt.Sprintf("script %q, %d bytes", vacation.ScriptName, len(src))
	if err := h.audited(a, "sieve.put", detail).PutSieveScript(a.ID, vacation.ScriptName, src, h.settings.sieveLimits); err != nil {
		return fmt.Errorf("store automatic reply: %w", err)
	}
	err = h.audited(a, "sieve.activate", fmt.Sprintf("script %q", vacation.ScriptName)).
		ActivateSieveScript(a.ID, vacation.ScriptName)
	if err != nil {
		return fmt.Errorf("activate automatic reply: %w", err)
	}
	return nil
}

// vacationOff removes the automatic reply, if any, and runs again the script that was active before it, as
// admin.Service.VacationOff does.
func (h *Handler) vacationOff(a store.Account) error {
	src, err := h.store.SieveScript(a.ID, vacation.ScriptName)
	if errors.Is(err, store.ErrNotFound) {
		return nil // already off
	} else if err != nil {
		return fmt.Errorf("automatic reply script: %w", err)
	}
	active, _, err := h.store.ActiveSieveScript(a.ID)
	if err != nil {
		return fmt.Errorf("active script: %w", err)
	}
	if active == vacation.ScriptName {
		next := vacation.PreviousScript(string(src))
		if _, err := h.store.SieveScript(a.ID, next); next == "" || err != nil {
			next = ""
		}
		action, detail := "sieve.activate", fmt.Sprintf("script %q", next)
		if next == "" {
			action, detail = "sieve.deactivate", "no script runs"
		}
		if err := h.audited(a, action, detail).ActivateSieveScript(a.ID, next); err != nil {
			return fmt.Errorf("activate previous script: %w", err)
		}
	}
	err = h.audited(a, "sieve.remove", fmt.Sprintf("script %q", vacation.ScriptName)).DeleteSieveScript(a.ID, vacation.ScriptName)
	if err != nil {
		return fmt.Errorf("remove automatic reply: %w", err)
	}
	return nil
}

// audited is the store writing the audit record of a change the user makes to their own account, in the change's
// transaction, with the same actions as the CLI's.
func (h *Handler) audited(a store.Account, action, detail string) *store.Store {
	return h.store.WithAudit(store.AuditRecord{Actor: a.Address, Action: action, Target: a.Address, Detail: detail,
		From: auditOrigin})
}
