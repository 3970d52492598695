package store

import (
	"bytes"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// The sender indexes answer "who may send as this account" without reading every alias and group:
// alias_targets maps an alias's direct target to the alias, group_senders maps each listed sender to the group.
// Both are written in the transactions that change the records (AddAlias, RemoveAlias, putGroup, RemoveGroup).

// indexKey is the key of an index entry: from NUL to.
func indexKey(from, to string) []byte {
	k := make([]byte, 0, len(from)+1+len(to))
	k = append(k, from...)
	k = append(k, 0)
	return append(k, to...)
}

// scanIndex returns the second halves of the keys of bucket that start with from NUL, in key order.
func scanIndex(tx *bolt.Tx, bucket []byte, from string) []string {
	prefix := indexKey(from, "")
	var out []string
	c := tx.Bucket(bucket).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out
}

// indexGroupSenders updates the senders index of group from the sender list old to new (each sorted and unique,
// as putGroup stores them; nil for a group being created or removed).
func indexGroupSenders(tx *bolt.Tx, group string, old, new []string) error {
	b := tx.Bucket(bucketGroupSenders)
	for _, s := range old {
		if !slices.Contains(new, s) {
			if err := b.Delete(indexKey(s, group)); err != nil {
				return err
			}
		}
	}
	for _, s := range new {
		if !slices.Contains(old, s) {
			if err := b.Put(indexKey(s, group), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func groupsSentBy(tx *bolt.Tx, sender string) []string {
	return scanIndex(tx, bucketGroupSenders, sender)
}

// AliasesOf lists the aliases whose target is target itself (not through another alias), in address order.
func (s *Store) AliasesOf(target string) ([]string, error) {
	target = addressKey(target)
	var out []string
	err := s.view(func(tx *bolt.Tx) error {
		out = scanIndex(tx, bucketAliasTargets, target)
		return nil
	})
	return out, err
}

// GroupsSentBy lists the groups whose Senders include any of addresses, in address order, each once.
func (s *Store) GroupsSentBy(addresses []string) ([]string, error) {
	var out []string
	err := s.view(func(tx *bolt.Tx) error {
		for _, a := range addresses {
			out = append(out, groupsSentBy(tx, addressKey(a))...)
		}
		return nil
	})
	slices.Sort(out)
	return slices.Compact(out), err
}

// rebuildSenderIndexes fills an empty alias or group-sender index from the records, for files written before the
// indexes existed. An index that already has entries is left alone; Check verifies it.
func rebuildSenderIndexes(tx *bolt.Tx) error {
	if k, _ := tx.Bucket(bucketAliasTargets).Cursor().First(); k == nil {
		err := tx.Bucket(bucketAliases).ForEach(func(k, v []byte) error {
			a, err := decodeAlias(k, v)
			if err != nil {
				return err
			}
			return tx.Bucket(bucketAliasTargets).Put(indexKey(a.Target, a.Address), nil)
		})
		if err != nil {
			return err
		}
	}
	if k, _ := tx.Bucket(bucketGroupSenders).Cursor().First(); k == nil {
		err := tx.Bucket(bucketGroups).ForEach(func(k, v []byte) error {
			g, err := decodeGroup(k, v)
			if err != nil {
				return err
			}
			return indexGroupSenders(tx, g.Address, nil, g.Senders)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// checkSenderIndexes checks the alias-target and group-sender indexes against the alias and group records, both
// ways.
func checkSenderIndexes(tx *bolt.Tx, report func(string, ...any)) {
	targets, senders := tx.Bucket(bucketAliasTargets), tx.Bucket(bucketGroupSenders)
	_ = tx.Bucket(bucketAliases).ForEach(func(k, v []byte) error {
		a, err := decodeAlias(k, v)
		if err != nil {
			report("%v", err)
			return nil
		}
		if targets.Get(indexKey(a.Target, a.Address)) == nil {
			report("alias %s: missing from the alias index of %s", a.Address, a.Target)
		}
		return nil
	})
	_ = targets.ForEach(func(k, _ []byte) error {
		target, alias, _ := bytes.Cut(k, []byte{0})
		v := tx.Bucket(bucketAliases).Get(alias)
		if v == nil {
			report("alias index: %s listed as an alias of %s, but there is no such alias", alias, target)
			return nil
		}
		if a, err := decodeAlias(alias, v); err == nil && a.Target != string(target) {
			report("alias index: %s listed as an alias of %s, but it points at %s", alias, target, a.Target)
		}
		return nil
	})
	_ = tx.Bucket(bucketGroups).ForEach(func(k, v []byte) error {
		g, err := decodeGroup(k, v)
		if err != nil {
			report("%v", err)
			return nil
		}
		for _, s := range g.Senders {
			if senders.Get(indexKey(s, g.Address)) == nil {
				report("group %s: sender %s missing from the senders index", g.Address, s)
			}
		}
		return nil
	})
	_ = senders.ForEach(func(k, _ []byte) error {
		sender, group, _ := bytes.Cut(k, []byte{0})
		g, err := getGroup(tx, string(group))
		if err != nil || !slices.Contains(g.Senders, string(sender)) {
			report("senders index: %s listed as a sender of %s, but the group does not list it", sender, group)
		}
		return nil
	})
}
