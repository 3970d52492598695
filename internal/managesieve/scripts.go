package managesieve

import (
	"errors"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxNameRunes bounds a script's name: RFC 5804 section 1.6 asks servers to allow at least 128 characters.
const maxNameRunes = 128

// scriptName checks a script name against RFC 5804 section 1.6 (UTF-8, no control characters, no line or
// paragraph separators) and returns it in NFC (RFC 5198), so that "Báo cáo" typed on two systems that compose
// Vietnamese diacritics differently names one script.
func scriptName(name string) (string, error) {
	if name == "" {
		return "", errors.New("the script name is empty")
	}
	if !utf8.ValidString(name) {
		return "", errors.New("the script name is not UTF-8")
	}
	name = norm.NFC.String(name)
	if utf8.RuneCountInString(name) > maxNameRunes {
		return "", fmt.Errorf("the script name is longer than %d characters", maxNameRunes)
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "", errors.New("the script name contains a control character")
		}
	}
	return name, nil
}

// scriptError turns an error of Scripts into its reply (RFC 5804 section 1.3).
func (s *session) scriptError(op string, err error) reply {
	switch {
	case errors.Is(err, ErrNonexistent):
		return no("NONEXISTENT", "There is no script by that name")
	case errors.Is(err, ErrActive):
		return no("ACTIVE", "The script is active; deactivate it first")
	case errors.Is(err, ErrExists):
		return no("ALREADYEXISTS", "A script by that name exists already")
	case errors.Is(err, ErrQuotaMaxScripts):
		return no("QUOTA/MAXSCRIPTS", "Too many scripts; delete one first")
	case errors.Is(err, ErrQuotaMaxSize):
		return no("QUOTA/MAXSIZE", "The script is too large")
	case errors.Is(err, ErrQuota):
		return no("QUOTA", "Over the quota for scripts")
	case errors.Is(err, ErrName):
		return noText("Invalid script name")
	default:
		return s.internalError(op, err)
	}
}

// checkSize refuses a script over MaxScriptBytes.
func (s *session) checkSize(size int64) (reply, bool) {
	if limit := s.srv.limits.MaxScriptBytes; size > limit {
		return no("QUOTA/MAXSIZE", fmt.Sprintf("The script is %d bytes; at most %d are allowed", size, limit)), false
	}
	return reply{}, true
}

// roomFor refuses a new script once the account has MaxScripts; replacing one of the same name is always allowed.
func (s *session) roomFor(name string) (reply, bool) {
	list, err := s.srv.opts.Scripts.List(s.account.ID)
	if err != nil {
		return s.scriptError("list scripts", err), false
	}
	for _, sc := range list {
		if sc.Name == name {
			return reply{}, true
		}
	}
	if limit := s.srv.limits.MaxScripts; len(list) >= limit {
		return no("QUOTA/MAXSCRIPTS", fmt.Sprintf("There are %d scripts already, the most allowed", limit)), false
	}
	return reply{}, true
}

// check runs Options.Check. Its text reaches the client: it says where the script is wrong (line and column).
func (s *session) check(src string) (reply, bool) {
	if r, fits := s.checkSize(int64(len(src))); !fits {
		return r, false
	}
	if !utf8.ValidString(src) { // RFC 5228 section 2.2: scripts are UTF-8
		return noText("The script is not UTF-8"), false
	}
	if s.srv.opts.Check == nil {
		return reply{}, true
	}
	if err := s.srv.opts.Check(*s.account, []byte(src)); err != nil {
		return noText(err.Error()), false
	}
	return reply{}, true
}

// putScript: PUTSCRIPT name script (RFC 5804 section 2.6).
func (s *session) putScript(args []arg) reply {
	vals, fits := stringArgs(args, 2)
	if !fits {
		return s.usage("PUTSCRIPT", "a script name and the script")
	}
	name, err := scriptName(vals[0])
	if err != nil {
		return noText("Invalid script name: " + err.Error())
	}
	if r, fits := s.roomFor(name); !fits {
		return r
	}
	if r, good := s.check(vals[1]); !good {
		return r
	}
	if err := s.srv.opts.Scripts.Put(s.account.ID, name, []byte(vals[1])); err != nil {
		return s.scriptError("put script", err)
	}
	s.log.Info("managesieve script stored", "script", name, "size", len(vals[1]))
	return ok("Script stored")
}

// checkScript: CHECKSCRIPT script (RFC 5804 section 2.12).
func (s *session) checkScript(args []arg) reply {
	vals, fits := stringArgs(args, 1)
	if !fits {
		return s.usage("CHECKSCRIPT", "the script")
	}
	if r, good := s.check(vals[0]); !good {
		return r
	}
	return ok("The script is valid")
}

// haveSpace: HAVESPACE name size (RFC 5804 section 2.5).
func (s *session) haveSpace(args []arg) reply {
	if len(args) != 2 || args[0].Kind != argString || args[1].Kind != argNumber {
		return s.usage("HAVESPACE", "a script name and a size")
	}
	name, err := scriptName(args[0].Text)
	if err != nil {
		return noText("Invalid script name: " + err.Error())
	}
	size := args[1].Number
	if r, fits := s.checkSize(int64(size)); !fits {
		return r
	}
	if r, fits := s.roomFor(name); !fits {
		return r
	}
	if err := s.srv.opts.Scripts.HaveSpace(s.account.ID, name, int(size)); err != nil {
		return s.scriptError("check space", err)
	}
	return ok("Putting the script is OK")
}

// listScripts: LISTSCRIPTS (RFC 5804 section 2.7): one line per script, the active one marked.
func (s *session) listScripts(args []arg) reply {
	if len(args) != 0 {
		return s.usage("LISTSCRIPTS", "no arguments")
	}
	list, err := s.srv.opts.Scripts.List(s.account.ID)
	if err != nil {
		return s.scriptError("list scripts", err)
	}
	for _, sc := range list {
		line := quoteOrLiteral(sc.Name)
		if sc.Active {
			line += " ACTIVE"
		}
		s.writeLine(line)
	}
	return ok("Listscripts completed")
}

// setActive: SETACTIVE name (RFC 5804 section 2.8); the empty name deactivates.
func (s *session) setActive(args []arg) reply {
	vals, fits := stringArgs(args, 1)
	if !fits {
		return s.usage("SETACTIVE", "a script name, or an empty string")
	}
	name := vals[0]
	if name != "" {
		var err error
		if name, err = scriptName(name); err != nil {
			return noText("Invalid script name: " + err.Error())
		}
	}
	if err := s.srv.opts.Scripts.Activate(s.account.ID, name); err != nil {
		return s.scriptError("activate script", err)
	}
	s.log.Info("managesieve script activated", "script", name)
	if name == "" {
		return ok("No script is active")
	}
	return ok("Script activated")
}

// getScript: GETSCRIPT name (RFC 5804 section 2.9): the script as a literal.
func (s *session) getScript(args []arg) reply {
	name, r, good := s.nameArg("GETSCRIPT", args)
	if !good {
		return r
	}
	src, err := s.srv.opts.Scripts.Get(s.account.ID, name)
	if err != nil {
		return s.scriptError("get script", err)
	}
	s.writeLine("{" + strconv.Itoa(len(src)) + "}\r\n" + string(src))
	return ok("Getscript completed")
}

// deleteScript: DELETESCRIPT name (RFC 5804 section 2.10); the active script cannot be deleted.
func (s *session) deleteScript(args []arg) reply {
	name, r, good := s.nameArg("DELETESCRIPT", args)
	if !good {
		return r
	}
	if err := s.srv.opts.Scripts.Delete(s.account.ID, name); err != nil {
		return s.scriptError("delete script", err)
	}
	s.log.Info("managesieve script deleted", "script", name)
	return ok("Script deleted")
}

// renameScript: RENAMESCRIPT old new (RFC 5804 section 2.11.1).
func (s *session) renameScript(args []arg) reply {
	vals, fits := stringArgs(args, 2)
	if !fits {
		return s.usage("RENAMESCRIPT", "the old and the new script name")
	}
	from, err := scriptName(vals[0])
	if err != nil {
		return noText("Invalid script name: " + err.Error())
	}
	to, err := scriptName(vals[1])
	if err != nil {
		return noText("Invalid new script name: " + err.Error())
	}
	if err := s.srv.opts.Scripts.Rename(s.account.ID, from, to); err != nil {
		return s.scriptError("rename script", err)
	}
	s.log.Info("managesieve script renamed", "script", from, "to", to)
	return ok("Script renamed")
}

// nameArg is the one script name a command takes.
func (s *session) nameArg(cmd string, args []arg) (name string, r reply, good bool) {
	vals, fits := stringArgs(args, 1)
	if !fits {
		return "", s.usage(cmd, "a script name"), false
	}
	name, err := scriptName(vals[0])
	if err != nil {
		return "", noText("Invalid script name: " + err.Error()), false
	}
	return name, reply{}, true
}
