package managesieve

import (
	"fmt"
	"strings"
)

// state is where a command may be used (RFC 5804 section 2).
type state int

const (
	anyState     state = iota
	notAuthState       // before AUTHENTICATE: STARTTLS, AUTHENTICATE
	authState          // after it: the script commands, UNAUTHENTICATE
)

type handler struct {
	run   func(s *session, args []arg) reply
	state state
}

// commands is every command of RFC 5804. It is never changed.
var commands = map[string]handler{
	"CAPABILITY":     {(*session).capability, anyState},
	"LOGOUT":         {(*session).logout, anyState},
	"NOOP":           {(*session).noop, anyState},
	"STARTTLS":       {(*session).startTLS, notAuthState},
	"AUTHENTICATE":   {(*session).authenticate, notAuthState},
	"UNAUTHENTICATE": {(*session).unauthenticate, authState},
	"PUTSCRIPT":      {(*session).putScript, authState},
	"CHECKSCRIPT":    {(*session).checkScript, authState},
	"HAVESPACE":      {(*session).haveSpace, authState},
	"LISTSCRIPTS":    {(*session).listScripts, authState},
	"SETACTIVE":      {(*session).setActive, authState},
	"GETSCRIPT":      {(*session).getScript, authState},
	"DELETESCRIPT":   {(*session).deleteScript, authState},
	"RENAMESCRIPT":   {(*session).renameScript, authState},
}

// scriptCommands take a script as their last argument: a literal too large for it is a quota refusal.
var scriptCommands = map[string]bool{"PUTSCRIPT": true, "CHECKSCRIPT": true}

// hangUp is the result of a command after which nothing more can be said: the connection ends.
var hangUp = reply{end: true}

// dispatch runs one command in the session's state.
func (s *session) dispatch(cmd command) reply {
	h, found := commands[cmd.Name]
	if !found {
		return s.misplaced(fmt.Sprintf("Unknown command %s", quoteOrLiteral(cmd.Name)))
	}
	switch {
	case h.state == authState && s.account == nil:
		return s.misplaced(cmd.Name + " needs AUTHENTICATE first")
	case h.state == notAuthState && s.account != nil:
		return s.misplaced(cmd.Name + " is not allowed after AUTHENTICATE")
	}
	for i, a := range cmd.Args {
		if !a.Oversized {
			continue
		}
		if scriptCommands[cmd.Name] && i == len(cmd.Args)-1 {
			return no("QUOTA/MAXSIZE", fmt.Sprintf("The script is %d bytes; at most %d are allowed",
				a.Size, s.srv.limits.MaxScriptBytes))
		}
		return s.misplaced(fmt.Sprintf("Argument %d of %s is too long (%d bytes)", i+1, cmd.Name, a.Size))
	}
	return h.run(s, cmd.Args)
}

// misplaced refuses a command that is unknown, malformed or out of place. It counts towards MaxErrors: once the
// client has sent that many, the answer is BYE.
func (s *session) misplaced(text string) reply {
	s.errors++
	if s.errors >= s.srv.limits.MaxErrors {
		s.log.Info("managesieve: too many bad commands", "errors", s.errors)
		s.connLog.End("too many bad commands")
		return reply{kind: "BYE", text: "Too many bad commands; closing the connection"}
	}
	return noText(text)
}

// stringArgs returns the n string arguments of a command, or ok=false when it has others.
func stringArgs(args []arg, n int) (vals []string, ok bool) {
	if len(args) != n {
		return nil, false
	}
	for _, a := range args {
		if a.Kind != argString {
			return nil, false
		}
		vals = append(vals, a.Text)
	}
	return vals, true
}

// usage refuses a command with the wrong arguments, saying what it takes.
func (s *session) usage(name, takes string) reply {
	return s.misplaced(strings.TrimSpace(name + " takes " + takes))
}

// internalError logs a failure the client cannot do anything about and answers it with no detail but the
// connection's ID, which finds the log line.
func (s *session) internalError(op string, err error) reply {
	s.log.Error("managesieve "+op+" failed", "err", err)
	return no("TRYLATER", "Internal server error, reference "+s.connLog.ID())
}
