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
	// ErrDotLevel is the ErrInvalidName of a new name with "." or ".." as a level.
	ErrDotLevel = fmt.Errorf("%w: a level may not be . or ..", ErrInvalidName)
)
