package main

import (
	"context"
	"fmt"
	"io"
)

func runCPUCmd(_ context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("cpu", `Prints the CPU time (user+system, with reaped children) and memory (RSS, RssAnon, PSS) of the
server's process trees, read from /proc. The smtp, logins and idle modes take the same readings before and after
their load and report the difference (CPU per delivered message, memory per connection); run this one around a
load of your own and divide.`)
	tf := addTargetFlags(fs)
	t, err := tf.parse(args)
	if err != nil {
		return err
	}
	u, err := treeUsage(t.PIDFiles)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "cpu %.3f s; %s\n", u.CPU.Seconds(), u.memory())
	return nil
}
