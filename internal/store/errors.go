package store

import (
	"errors"
	"fmt"
)

// Sentinel errors; callers test them with errors.Is. Messages are safe to show to an administrator.
var (
	ErrNotFound        = errors.New("not found")
	ErrExists          = errors.New("already exists")
	ErrDomainNotFound  = errors.New("domain not found")
	ErrDomainInUse     = errors.New("domain still has accounts")
	ErrAccountNotFound = errors.New("account not found")
	ErrMailboxNotFound = errors.New("mailbox not found")
	ErrMailboxExists   = errors.New("mailbox already exists")
	ErrInvalidName     = errors.New("invalid mailbox name")
	ErrProtected       = errors.New("mailbox cannot be deleted or renamed")
	ErrHasChildren     = errors.New("mailbox has children")
	ErrOverQuota       = errors.New("mailbox quota exceeded")
	ErrTooLarge        = errors.New("message too large")
	ErrUnitNotFound    = errors.New("unit not found")
	ErrUnitInUse       = errors.New("unit still has accounts or sub-units")
	ErrInvalidUnit     = errors.New("invalid unit path")
	ErrAliasNotFound   = errors.New("alias not found")
	ErrGroupNotFound   = errors.New("group not found")
	ErrNotShared       = errors.New("not a shared mailbox")
	// ErrSieveName: a Sieve script name that RFC 5804 section 1.6 refuses.
	ErrSieveName = errors.New("invalid Sieve script name")
	// ErrSieveQuota: a Sieve script over the account's limits; ErrSieveTooLarge and ErrSieveTooMany say which
	// (ManageSieve answers QUOTA/MAXSIZE or QUOTA/MAXSCRIPTS, RFC 5804 section 1.3).
	ErrSieveQuota    = errors.New("Sieve script limit exceeded")
	ErrSieveTooLarge = fmt.Errorf("%w: script too large", ErrSieveQuota)
	ErrSieveTooMany  = fmt.Errorf("%w: too many scripts", ErrSieveQuota)
	// ErrSieveActive: the active script cannot be deleted (RFC 5804 section 2.10).
	ErrSieveActive = errors.New("the active Sieve script cannot be deleted")
	// ErrDotLevel is the ErrInvalidName of a new name with "." or ".." as a level.
	ErrDotLevel = fmt.Errorf("%w: a level may not be . or ..", ErrInvalidName)
)
