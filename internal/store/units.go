package store

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Unit is one node of the organisation tree: city → department → ward or commune, addressed by a path such as
// "vinhyen/ubnd/phong-noi-vu".
type Unit struct {
	Path     string
	Name     string // "Phòng Nội vụ"
	Created  time.Time
	Accounts int // people's accounts directly in this unit (not in sub-units, not shared mailboxes)
	Shared   int // shared mailboxes directly in this unit: they belong to it but are not its members
}

// ValidateUnitPath checks a unit path: "/"-separated levels of lower-case ASCII letters, digits and hyphens, so
// that paths are easy to type on any keyboard and never need quoting.
func ValidateUnitPath(path string) error {
	if path == "" || len(path) > 255 {
		return fmt.Errorf("%w %q: must be 1 to 255 characters", ErrInvalidUnit, path)
	}
	for _, level := range strings.Split(path, "/") {
		if level == "" || level[0] == '-' || level[len(level)-1] == '-' {
			return fmt.Errorf("%w %q: empty level or a level starting or ending with '-'", ErrInvalidUnit, path)
		}
		for _, r := range level {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("%w %q: use lower-case letters a-z, digits and '-' (e.g. vinhyen/ubnd/phong-noi-vu)", ErrInvalidUnit, path)
			}
		}
	}
	return nil
}

// AddUnit adds a unit; missing parent units are created too, without a name.
func (s *Store) AddUnit(path, name string) (Unit, error) {
	if err := ValidateUnitPath(path); err != nil {
		return Unit{}, err
	}
	u := Unit{Path: path, Name: name, Created: s.now().Truncate(time.Second)}
	err := s.update(func(tx *bolt.Tx, _ *changes) error {
		units := tx.Bucket(bucketUnits)
		if units.Get([]byte(path)) != nil {
			return fmt.Errorf("unit %s: %w", path, ErrExists)
		}
		levels := strings.Split(path, "/")
		for i := 1; i < len(levels); i++ {
			parent := strings.Join(levels[:i], "/")
			if units.Get([]byte(parent)) == nil {
				if err := putUnit(tx, Unit{Path: parent, Created: u.Created}); err != nil {
					return err
				}
			}
		}
		return putUnit(tx, u)
	})
	return u, err
}

// Units lists every unit in path order (parents before their children), with direct counts of its accounts and
// of its shared mailboxes.
func (s *Store) Units() ([]Unit, error) {
	var out []Unit
	err := s.view(func(tx *bolt.Tx) error {
		accounts, shared, err := countUnitMembers(tx)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketUnits).ForEach(func(k, v []byte) error {
			u, err := decodeUnit(k, v)
			if err != nil {
				return err
			}
			u.Accounts, u.Shared = accounts[u.Path], shared[u.Path]
			out = append(out, u)
			return nil
		})
	})
	// "a/b" must sort before "a-x" and "a/b/c" right after "a/b": compare level by level.
	sort.Slice(out, func(i, j int) bool {
		return strings.ReplaceAll(out[i].Path, "/", "\x00") < strings.ReplaceAll(out[j].Path, "/", "\x00")
	})
	return out, err
}

// countUnitMembers counts, per unit path, the people's accounts and the shared mailboxes directly in it. Shared
// mailboxes are told apart because they are not unit members (a group's unit:PATH does not reach them).
func countUnitMembers(tx *bolt.Tx) (accounts, shared map[string]int, err error) {
	accounts, shared = map[string]int{}, map[string]int{}
	err = tx.Bucket(bucketUnitMembers).ForEach(func(k, _ []byte) error {
		unit, addr, _ := bytes.Cut(k, []byte{0})
		a, err := getAccount(tx, string(addr))
		if err != nil {
			return fmt.Errorf("unit %s: %w", unit, err)
		}
		if a.Shared {
			shared[string(unit)]++
		} else {
			accounts[string(unit)]++
		}
		return nil
	})
	return accounts, shared, err
}

// Unit returns one unit.
func (s *Store) Unit(path string) (Unit, error) {
	var u Unit
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketUnits).Get([]byte(path))
		if v == nil {
			return fmt.Errorf("unit %s: %w", path, ErrUnitNotFound)
		}
		var err error
		u, err = decodeUnit([]byte(path), v)
		return err
	})
	return u, err
}

// SetUnitName sets a unit's display name ("" for none) and returns the unit.
func (s *Store) SetUnitName(path, name string) (Unit, error) {
	var u Unit
	err := s.update(func(tx *bolt.Tx, _ *changes) error {
		v := tx.Bucket(bucketUnits).Get([]byte(path))
		if v == nil {
			return fmt.Errorf("unit %s: %w", path, ErrUnitNotFound)
		}
		var err error
		if u, err = decodeUnit([]byte(path), v); err != nil {
			return err
		}
		u.Name = name
		return putUnit(tx, u)
	})
	if err != nil {
		return Unit{}, err
	}
	return u, nil
}

// RemoveUnit removes a unit that has no accounts and no sub-units.
func (s *Store) RemoveUnit(path string) error {
	return s.update(func(tx *bolt.Tx, _ *changes) error {
		units := tx.Bucket(bucketUnits)
		if units.Get([]byte(path)) == nil {
			return fmt.Errorf("unit %s: %w", path, ErrUnitNotFound)
		}
		if k, _ := units.Cursor().Seek([]byte(path + "/")); k != nil && bytes.HasPrefix(k, []byte(path+"/")) {
			return fmt.Errorf("unit %s: %w (sub-unit %s)", path, ErrUnitInUse, k)
		}
		prefix := append([]byte(path), 0)
		if k, _ := tx.Bucket(bucketUnitMembers).Cursor().Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) {
			return fmt.Errorf("unit %s: %w (account %s)", path, ErrUnitInUse, k[len(prefix):])
		}
		return units.Delete([]byte(path))
	})
}

// UnitAccounts returns the accounts of a unit, and of all its sub-units when recursive, in address order.
func (s *Store) UnitAccounts(path string, recursive bool) ([]Account, error) {
	var out []Account
	err := s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketUnits).Get([]byte(path)) == nil {
			return fmt.Errorf("unit %s: %w", path, ErrUnitNotFound)
		}
		var err error
		out, err = unitAccountsTx(tx, path, recursive)
		return err
	})
	return out, err
}

func unitAccountsTx(tx *bolt.Tx, path string, recursive bool) ([]Account, error) {
	var out []Account
	collect := func(prefix []byte) error {
		c := tx.Bucket(bucketUnitMembers).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			_, addr, _ := bytes.Cut(k, []byte{0})
			a, err := getAccount(tx, string(addr))
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	}
	if err := collect(append([]byte(path), 0)); err != nil {
		return nil, err
	}
	if recursive {
		if err := collect([]byte(path + "/")); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out, nil
}

// MoveAccount puts an account in another unit ("" for none).
func (s *Store) MoveAccount(address, unit string) error {
	address = addressKey(address)
	return s.update(func(tx *bolt.Tx, _ *changes) error {
		a, err := getAccount(tx, address)
		if err != nil {
			return err
		}
		if err := checkUnitExists(tx, unit); err != nil {
			return err
		}
		if err := indexUnitMember(tx, a.Unit, a.Address, false); err != nil {
			return err
		}
		a.Unit = unit
		if err := indexUnitMember(tx, a.Unit, a.Address, true); err != nil {
			return err
		}
		return putAccount(tx, a)
	})
}

func checkUnitExists(tx *bolt.Tx, path string) error {
	if path == "" || tx.Bucket(bucketUnits).Get([]byte(path)) != nil {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrUnitNotFound, path)
}

// indexUnitMember adds or removes an account in the accounts-by-unit index.
func indexUnitMember(tx *bolt.Tx, unit, address string, add bool) error {
	if unit == "" {
		return nil
	}
	key := append(append([]byte(unit), 0), address...)
	if add {
		return tx.Bucket(bucketUnitMembers).Put(key, nil)
	}
	return tx.Bucket(bucketUnitMembers).Delete(key)
}

func putUnit(tx *bolt.Tx, u Unit) error {
	var e encoder
	e.b = append(e.b, 1)
	e.string(u.Name)
	e.int(u.Created.Unix())
	return tx.Bucket(bucketUnits).Put([]byte(u.Path), e.b)
}

func decodeUnit(k, v []byte) (Unit, error) {
	d := decoder{b: v}
	d.version("unit", 1)
	u := Unit{Path: string(k), Name: d.string()}
	u.Created = time.Unix(d.int(), 0)
	if d.err != nil {
		return Unit{}, fmt.Errorf("unit %s: %w", k, d.err)
	}
	return u, nil
}
