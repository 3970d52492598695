package store

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// PostingPolicy says who may send to a group.
type PostingPolicy string

const (
	PostAnyone       PostingPolicy = "anyone"       // anyone, other agencies included
	PostOrganisation PostingPolicy = "organisation" // staff logged in to this server
	PostMembers      PostingPolicy = "members"      // the group's own members
	PostSenders      PostingPolicy = "senders"      // the listed senders only
)

// ParsePostingPolicy reads a policy name.
func ParsePostingPolicy(s string) (PostingPolicy, error) {
	switch p := PostingPolicy(strings.ToLower(strings.TrimSpace(s))); p {
	case PostAnyone, PostOrganisation, PostMembers, PostSenders:
		return p, nil
	case "organization":
		return PostOrganisation, nil
	}
	return "", fmt.Errorf("unknown posting policy %q: use anyone, organisation, members or senders", s)
}

// UnitMemberPrefix marks a group member that stands for every account of a unit and its sub-units, resolved at
// delivery time: "unit:vinhyen/ubnd".
const UnitMemberPrefix = "unit:"

// Group is a distribution list.
type Group struct {
	Address string
	Name    string
	Policy  PostingPolicy
	Members []string // addresses (accounts, aliases, groups, shared mailboxes) or unit:PATH
	Senders []string // addresses that may send to the group (policy senders) and send as it
	Created time.Time
}

// AddGroup creates a group with no members.
func (s *Store) AddGroup(g Group) (Group, error) {
	g.Address = addressKey(g.Address)
	if g.Policy == "" {
		g.Policy = PostOrganisation
	}
	g.Created = s.now().Truncate(time.Second)
	err := s.update(func(tx *bolt.Tx, _ *changes) error {
		if err := checkLocalAddress(tx, g.Address); err != nil {
			return fmt.Errorf("add group: %w", err)
		}
		if kind := addressTaken(tx, g.Address); kind != KindNone {
			return fmt.Errorf("add group %s: %w (%s)", g.Address, ErrExists, kind)
		}
		return putGroup(tx, g)
	})
	return g, err
}

// Group returns a group.
func (s *Store) Group(address string) (Group, error) {
	address = addressKey(address)
	var g Group
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		g, err = getGroup(tx, address)
		return err
	})
	return g, err
}

// Groups lists every group in address order.
func (s *Store) Groups() ([]Group, error) {
	var out []Group
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketGroups).ForEach(func(k, v []byte) error {
			g, err := decodeGroup(k, v)
			out = append(out, g)
			return err
		})
	})
	return out, err
}

// UpdateGroup applies fn to a group and saves it. New members must exist (an address known here, or a unit);
// senders may be any address, other agencies' included.
func (s *Store) UpdateGroup(address string, fn func(*Group) error) (Group, error) {
	address = addressKey(address)
	var out Group
	err := s.update(func(tx *bolt.Tx, _ *changes) error {
		g, err := getGroup(tx, address)
		if err != nil {
			return err
		}
		keep := g
		if err := fn(&g); err != nil {
			return err
		}
		g.Address, g.Created = keep.Address, keep.Created
		g.Members, g.Senders = sortedUnique(g.Members), sortedUnique(g.Senders)
		for _, m := range g.Members {
			if err := checkMember(tx, m); err != nil {
				return fmt.Errorf("group %s: member %s: %w", g.Address, m, err)
			}
		}
		out = g
		return putGroup(tx, g)
	})
	return out, err
}

// RemoveGroup removes a group.
func (s *Store) RemoveGroup(address string) error {
	address = addressKey(address)
	return s.update(func(tx *bolt.Tx, _ *changes) error {
		g, err := getGroup(tx, address)
		if err != nil {
			return err
		}
		if err := indexGroupSenders(tx, address, g.Senders, nil); err != nil {
			return err
		}
		if err := tx.Bucket(bucketGroups).Delete([]byte(address)); err != nil {
			return err
		}
		return forgetSender(tx, address)
	})
}

func checkMember(tx *bolt.Tx, member string) error {
	if unit, ok := strings.CutPrefix(member, UnitMemberPrefix); ok {
		if tx.Bucket(bucketUnits).Get([]byte(unit)) == nil {
			return fmt.Errorf("%w: %s", ErrUnitNotFound, unit)
		}
		return nil
	}
	if addressTaken(tx, member) == KindNone {
		return fmt.Errorf("no account, alias, group or shared mailbox has this address: %w", ErrNotFound)
	}
	return nil
}

func getGroup(tx *bolt.Tx, address string) (Group, error) {
	v := tx.Bucket(bucketGroups).Get([]byte(address))
	if v == nil {
		return Group{}, fmt.Errorf("group %s: %w", address, ErrGroupNotFound)
	}
	return decodeGroup([]byte(address), v)
}

// putGroup saves a group and brings the senders index in line with its Senders.
func putGroup(tx *bolt.Tx, g Group) error {
	g.Members, g.Senders = sortedUnique(g.Members), sortedUnique(g.Senders)
	var old []string
	if v := tx.Bucket(bucketGroups).Get([]byte(g.Address)); v != nil {
		prev, err := decodeGroup([]byte(g.Address), v)
		if err != nil {
			return err
		}
		old = prev.Senders
	}
	if err := indexGroupSenders(tx, g.Address, old, g.Senders); err != nil {
		return err
	}
	var e encoder
	e.b = append(e.b, 1)
	e.string(g.Name)
	e.string(string(g.Policy))
	e.strings(g.Members)
	e.strings(g.Senders)
	e.int(g.Created.Unix())
	return tx.Bucket(bucketGroups).Put([]byte(g.Address), e.b)
}

func decodeGroup(k, v []byte) (Group, error) {
	d := decoder{b: v}
	d.version("group", 1)
	g := Group{Address: string(k), Name: d.string(), Policy: PostingPolicy(d.string()), Members: d.strings(), Senders: d.strings()}
	g.Created = time.Unix(d.int(), 0)
	if d.err != nil {
		return Group{}, fmt.Errorf("group %s: %w", k, d.err)
	}
	return g, nil
}

func sortedUnique(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		s = addressKey(s)
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// forgetSender removes a departing address (account, alias or group being removed) from every group's senders,
// so that whoever is given the address later does not inherit the right to post to, or send as, those groups.
func forgetSender(tx *bolt.Tx, address string) error {
	var changed []Group
	for _, name := range groupsSentBy(tx, address) { // collected first: never write while iterating
		g, err := getGroup(tx, name)
		if err != nil {
			return err
		}
		if i := slices.Index(g.Senders, address); i >= 0 {
			g.Senders = slices.Delete(g.Senders, i, i+1)
			changed = append(changed, g)
		}
	}
	for _, g := range changed {
		if err := putGroup(tx, g); err != nil {
			return err
		}
	}
	return nil
}
