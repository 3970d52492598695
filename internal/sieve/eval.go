package sieve

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// errStop ends the script (RFC 5228 section 3.3); it is not an error to the caller.
var errStop = errors.New("stop")

type run struct {
	s        *Script
	msg      Message
	env      Envelope
	opts     RunOptions
	limits   Limits
	res      *Result
	vars     map[string]string
	captures []string  // ${0}..${9} of the last successful :matches
	now      time.Time // currentdate's time, one for the whole run (RFC 5260 section 5)
	steps    int
	actions  int
}

// Run evaluates the script for one message and one recipient. A run-time error (a limit, a refused redirect)
// returns no result: the caller keeps the message (RFC 5228 section 2.10.6).
func (s *Script) Run(msg Message, env Envelope, opts RunOptions) (res *Result, err error) {
	defer func() {
		// A safety net: a fault here must cost the recipient nothing but the filtering.
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("sieve: internal error: %v", p)
		}
	}()
	r := &run{s: s, msg: msg, env: env, opts: opts, limits: s.opts.Limits, res: &Result{ImplicitKeep: true},
		vars: map[string]string{}, now: opts.Now}
	if r.now.IsZero() {
		r.now = time.Now()
	}
	if err := r.block(s.cmds); err != nil && err != errStop {
		return nil, fmt.Errorf("sieve: %w", err)
	}
	return r.res, nil
}

// charge spends steps of the run's budget.
func (r *run) charge(n int) error {
	r.steps += n
	if r.steps > r.limits.MaxSteps {
		return &Error{Msg: fmt.Sprintf("script took more than %d steps", r.limits.MaxSteps)}
	}
	return nil
}

func (r *run) block(cmds []*cmd) error {
	for _, c := range cmds {
		if err := r.charge(1); err != nil {
			return err
		}
		if err := r.command(c); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) command(c *cmd) error {
	switch c.name {
	case "if":
		for _, b := range c.branches {
			ok := true
			if b.cond != nil {
				var err error
				if ok, err = r.test(b.cond); err != nil {
					return err
				}
			}
			if ok {
				return r.block(b.block)
			}
		}
		return nil
	case "stop":
		return errStop
	case "set":
		return r.set(c)
	case "setflag", "addflag", "removeflag":
		return r.flagCommand(c)
	}
	if err := r.countAction(c); err != nil {
		return err
	}
	switch c.name {
	case "keep":
		r.keep(r.actionFlags(c))
	case "discard":
		r.res.Discard, r.res.ImplicitKeep = true, false
	case "fileinto":
		r.fileinto(c)
	case "redirect":
		return r.redirect(c)
	case "vacation":
		return r.vacation(c)
	}
	return nil
}

func (r *run) countAction(c *cmd) error {
	r.actions++
	if r.actions > r.limits.MaxActions {
		return errAt(c.at, "script took more than %d actions", r.limits.MaxActions)
	}
	return nil
}

// actionFlags are the flags of keep or fileinto: :flags, or else the internal variable (RFC 5232 section 5).
func (r *run) actionFlags(c *cmd) []string {
	if a, ok := c.tags["flags"]; ok {
		return normalizeFlags(r.expandAll(a.strs))
	}
	return normalizeFlags(r.res.Flags)
}

// keep delivers to INBOX once however often keep runs; the flags add up.
func (r *run) keep(flags []string) {
	r.res.ImplicitKeep = false
	if r.res.Keep == nil {
		r.res.Keep = &Keep{Flags: flags}
		return
	}
	r.res.Keep.Flags = normalizeFlags(r.res.Keep.Flags, flags)
}

func (r *run) fileinto(c *cmd) {
	mailbox := r.expand(c.args[0].strs[0])
	_, copied := c.tags["copy"]
	_, create := c.tags["create"]
	flags := r.actionFlags(c)
	implicit := r.res.ImplicitKeep
	defer func() { r.res.ImplicitKeep = implicit && copied }()
	if strings.EqualFold(mailbox, "INBOX") {
		r.keep(flags) // RFC 5228 section 4.3: keep is fileinto "INBOX"; the same mailbox gets one copy
		return
	}
	for i := range r.res.FileInto {
		if f := &r.res.FileInto[i]; f.Mailbox == mailbox {
			f.Flags = normalizeFlags(f.Flags, flags)
			f.Create = f.Create || create
			f.Copy = f.Copy && copied
			return
		}
	}
	r.res.FileInto = append(r.res.FileInto, FileInto{Mailbox: mailbox, Flags: flags, Create: create, Copy: copied})
}

func (r *run) redirect(c *cmd) error {
	addr := strings.TrimSpace(r.expand(c.args[0].strs[0]))
	_, copied := c.tags["copy"]
	if err := checkRedirectAddress(addr, r.s.opts.Redirect); err != nil {
		return errAt(c.at, "%s", err.Error())
	}
	if !copied {
		r.res.ImplicitKeep = false
	}
	for i := range r.res.Redirects {
		// RFC 5228 section 4.2: a second redirect to the same address is not sent again.
		if rd := &r.res.Redirects[i]; strings.EqualFold(rd.Address, addr) {
			rd.Copy = rd.Copy && copied
			return nil
		}
	}
	if len(r.res.Redirects) >= r.limits.MaxRedirects {
		return errAt(c.at, "script redirects to more than %d addresses", r.limits.MaxRedirects)
	}
	r.res.Redirects = append(r.res.Redirects, Redirect{Address: addr, Copy: copied})
	return nil
}

func (r *run) vacation(c *cmd) error {
	if r.res.Vacation != nil {
		return errAt(c.at, "vacation ran twice (RFC 5230 section 4.7 allows one)")
	}
	v := &Vacation{Days: 7, Reason: r.expand(c.args[0].strs[0])}
	if d, ok := c.tags["days"]; ok {
		v.Days = int(max(d.num, 1))
	}
	v.Seconds = int64(v.Days) * 86400
	if s, ok := c.tags["seconds"]; ok {
		v.Days, v.Seconds = 0, s.num
	}
	if a, ok := c.tags["subject"]; ok {
		v.Subject = r.expand(a.strs[0])
	}
	if a, ok := c.tags["from"]; ok {
		v.From = r.expand(a.strs[0])
	}
	if a, ok := c.tags["addresses"]; ok {
		v.Addresses = r.expandAll(a.strs)
	}
	if a, ok := c.tags["handle"]; ok {
		v.Handle = r.expand(a.strs[0])
	}
	_, v.Mime = c.tags["mime"]
	r.res.Vacation = v
	return nil
}

// flagCommand runs setflag, addflag and removeflag on the internal variable or on the named variables.
func (r *run) flagCommand(c *cmd) error {
	list := r.expandAll(c.args[len(c.args)-1].strs)
	apply := func(cur []string) []string {
		switch c.name {
		case "setflag":
			return normalizeFlags(list)
		case "addflag":
			return normalizeFlags(cur, list)
		}
		return removeFlags(cur, list)
	}
	if len(c.args) == 1 {
		r.res.Flags = apply(r.res.Flags)
		return nil
	}
	for _, name := range c.args[0].strs {
		name = strings.ToLower(name)
		r.setVar(name, strings.Join(apply(strings.Fields(r.vars[name])), " "))
	}
	return nil
}
