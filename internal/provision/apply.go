package provision

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"

	"mailserver/internal/admin"
	"mailserver/internal/auth"
)

// AdminAPI is what Apply needs: admin.Service (on the store file) provides it, and the CLI's adapter of the
// ctl.UserAdd operation, which runs on the control socket of a running server too. Apply calls it from several
// goroutines at once; both are safe for that.
type AdminAPI interface {
	AddUser(req admin.AddUserRequest) (admin.UserInfo, error)
}

var _ AdminAPI = (*admin.Service)(nil)

// applyWorkers is how many AddUser calls Apply keeps in flight: password hashing dominates their cost, and
// admin.Service runs two hashes at once, so a few callers keep it busy while the store commits.
const applyWorkers = 4

// Result is what Apply did.
type Result struct {
	Created []Created // in file order
}

// Created is an account Apply made, with its initial password: it is shown nowhere else, so write it out
// (WriteCredentials).
type Created struct {
	Line     int
	Address  string
	Name     string
	Unit     string
	Quota    int64
	Password string
}

// Apply creates the accounts of plan through api, each with an initial password from passwords (nil means
// auth.GeneratePassword; it is called from one goroutine only). It refuses a plan that has errors or conflicts.
//
// If creating an account fails, Apply starts no more and returns the error, naming the row; the Result still
// holds every account that was created, so write their credentials out in any case. Running the import again
// then creates the rest, skipping what exists.
func Apply(plan *ImportPlan, api AdminAPI, passwords func() string) (Result, error) {
	if plan == nil {
		return Result{}, errors.New("no plan to apply")
	}
	if err := plan.Err(); err != nil {
		return Result{}, fmt.Errorf("the file has problems; nothing was created:\n%w", err)
	}
	if passwords == nil {
		passwords = auth.GeneratePassword
	}
	jobs := make([]Created, len(plan.Create))
	for i, na := range plan.Create {
		jobs[i] = Created{Line: na.Line, Address: na.Address, Name: na.Name, Unit: na.Unit, Quota: na.Quota,
			Password: passwords()}
	}
	errs := make([]error, len(jobs))
	var next atomic.Int64 // index of the next job to start
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(applyWorkers, len(jobs)) {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				if errs[i] = addUser(api, jobs[i]); errs[i] != nil {
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()

	var res Result
	var first error
	for i, j := range jobs {
		switch {
		case errs[i] != nil && first == nil:
			first = errs[i]
		case errs[i] == nil && i < int(next.Load()):
			res.Created = append(res.Created, j)
		}
	}
	return res, first
}

func addUser(api AdminAPI, c Created) error {
	_, err := api.AddUser(admin.AddUserRequest{Address: c.Address, Name: c.Name, Unit: c.Unit, Quota: c.Quota,
		Password: c.Password})
	switch {
	case errors.Is(err, admin.ErrExists):
		return &LineError{Line: c.Line, Err: fmt.Errorf(
			"%s was created by someone else after the file was planned; run the import again to skip it", c.Address)}
	case err != nil:
		return &LineError{Line: c.Line, Err: fmt.Errorf("create %s: %w", c.Address, err)}
	}
	return nil
}

// WriteCredentials writes the created accounts as CSV with the columns address, name, unit, password, after a
// UTF-8 byte-order mark so that Excel shows the Vietnamese names right (Plan, Go and Python's utf-8-sig read
// past it).
func WriteCredentials(w io.Writer, r Result) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"address", "name", "unit", "password"}) // errors surface from Flush and Error
	for _, c := range r.Created {
		cw.Write([]string{c.Address, c.Name, c.Unit, c.Password})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	return nil
}

// CreateCredentialsFile creates the file for WriteCredentials, readable by its owner only (mode 0600). It never
// overwrites: an existing file may hold passwords not handed out yet. Create it before Apply, so that a bad path
// fails before any account exists.
func CreateCredentialsFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("credentials file %s already exists and may hold passwords not handed out yet: "+
			"choose another name: %w", path, fs.ErrExist)
	}
	if err != nil {
		return nil, fmt.Errorf("create credentials file: %w", err)
	}
	// The umask can only clear bits of 0600; make sure none was cleared that the owner needs.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("create credentials file: %w", err)
	}
	return f, nil
}
