package sieve

import (
	"errors"
	"fmt"
	"strings"

	"mailserver/internal/address"
)

// DefaultMaxRedirects is Limits.MaxRedirects when zero: the distinct addresses one run may redirect to.
const DefaultMaxRedirects = 5

// Limits bound what a script may cost. Zero fields take the defaults below.
type Limits struct {
	MaxScriptBytes int // default 1 MiB
	MaxCommands    int // commands in the script (tests and require not counted), default 20,000
	MaxNesting     int // depth of blocks and tests, default 32
	MaxActions     int // actions one run may take (keep, fileinto, redirect, discard, vacation), default 256
	MaxRedirects   int // distinct redirect addresses in one run, default 5
	// MaxSteps is one run's budget: a step is a command or test evaluated, or one KiB of text compared (times
	// the stars of a :matches pattern, plus one). The default, 100,000, keeps a run under about 100 ms.
	MaxSteps int
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxScriptBytes, 1<<20)
	def(&l.MaxCommands, 20_000)
	def(&l.MaxNesting, 32)
	def(&l.MaxActions, 256)
	def(&l.MaxRedirects, DefaultMaxRedirects)
	def(&l.MaxSteps, 100_000)
	return l
}

// Options are given to Compile; the Script keeps them for its runs.
type Options struct {
	Limits Limits
	// Redirect vets a redirect target: the organisation's forwarding policy. It is called by Compile for targets
	// written as constants and by Run for every target, whose refusal is a run-time error (the message is kept).
	// nil allows all.
	Redirect func(address string) error
}

// Script is a compiled script, safe for concurrent runs.
type Script struct {
	cmds      []*cmd
	required  map[string]bool
	variables bool // "variables" is required: strings expand ${...}; read on every string of every run
	opts      Options
}

// Compile parses and checks a script. Its errors are *Error values with the line and column of the fault.
func Compile(src []byte, opts Options) (*Script, error) {
	opts.Limits = opts.Limits.withDefaults()
	if len(src) > opts.Limits.MaxScriptBytes {
		return nil, &Error{Msg: fmt.Sprintf("script is %d bytes, more than the limit of %d", len(src), opts.Limits.MaxScriptBytes)}
	}
	nodes, err := parse(string(src), opts.Limits)
	if err != nil {
		return nil, err
	}
	c := &checker{opts: opts}
	cmds, cerr := c.checkScript(nodes)
	if cerr != nil {
		return nil, cerr
	}
	return &Script{cmds: cmds, required: c.required, variables: c.required["variables"], opts: opts}, nil
}

// Requires tells whether the script requires the capability (an extension or "comparator-NAME").
func (s *Script) Requires(capability string) bool { return s.required[strings.ToLower(capability)] }

// checkRedirectAddress refuses what is not a mail address, then asks the forwarding policy.
func checkRedirectAddress(addr string, policy func(string) error) error {
	if _, err := address.Parse(addr); err != nil {
		var ae *address.Error
		if errors.As(err, &ae) {
			return fmt.Errorf("redirect: %s", ae.Error())
		}
		return fmt.Errorf("redirect: invalid address %q", addr)
	}
	if policy != nil {
		if err := policy(addr); err != nil {
			return fmt.Errorf("redirect to %s refused: %w", addr, err)
		}
	}
	return nil
}
