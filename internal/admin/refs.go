package admin

import (
	"slices"
	"strconv"
	"strings"
)

// checkUnreferenced refuses to remove addr (a user, shared mailbox, alias or group: kind) while an alias points at
// it or a group has it as a member: they would be left pointing at nothing, and an alias re-created later under
// the old address could close a loop. The check and the removal are two transactions; a reference added in
// between is not seen.
func (s *Service) checkUnreferenced(kind, addr string) error {
	aliases, err := s.st.Aliases()
	if err != nil {
		return err
	}
	var names []string
	for _, a := range aliases {
		if a.Target == addr {
			names = append(names, a.Address)
		}
	}
	if len(names) > 0 {
		return failf(ErrInUse, "%s %s is the target of %d alias(es) (%s): remove them first with 'mailserver alias remove ALIAS'",
			kind, addr, len(names), shortList(names))
	}
	groups, err := s.groupsWithMember(addr)
	if err != nil {
		return err
	}
	if len(groups) > 0 {
		return failf(ErrInUse, "%s %s is a member of %d group(s) (%s): remove it first with 'mailserver group member remove GROUP %s'",
			kind, addr, len(groups), shortList(groups), addr)
	}
	return nil
}

// groupsWithMember lists the groups, other than member itself, that have member (an address or unit:PATH) among
// their members.
func (s *Service) groupsWithMember(member string) ([]string, error) {
	groups, err := s.st.Groups()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range groups {
		if g.Address != member && slices.Contains(g.Members, member) { // a group in itself does not keep itself
			out = append(out, g.Address)
		}
	}
	return out, nil
}

// FormatSize writes n bytes for a person: 0B, 512B, 1.5MB, 2GB (units of 1024, as sizes are read).
func FormatSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + "B"
	}
	v, unit := float64(n), ""
	for _, u := range []string{"KB", "MB", "GB", "TB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0") + unit
}
