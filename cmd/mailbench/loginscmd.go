package main

import (
	"context"
	"io"
	"time"
)

func runLoginsCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("logins", `Opens -p IMAP connections, then sends LOGIN on all of them at once (a morning login storm), and reports
the LOGIN latency percentiles and the server's memory (RSS, RssAnon, PSS of its process tree, from /proc) before
the storm, with everyone logged in, and a second after they have all gone.`)
	tf := addTargetFlags(fs)
	cfg := loginsConfig{}
	var users, tlsName string
	fs.IntVar(&cfg.Parallel, "p", 500, "parallel LOGINs (at most 5000)")
	fs.StringVar(&users, "users", "big,user1,user2,user3,user4,idle1,idle2,idle3,idle4", "accounts, used in turn")
	fs.StringVar(&tlsName, "tls", "none", "IMAP TLS: none, starttls, imaps")
	t, err := tf.parse(args)
	if err != nil {
		return err
	}
	cfg.Users, cfg.TLS = t.addresses(users), tlsMode(tlsName)
	res, err := runLogins(ctx, t, cfg)
	res.report(out, cfg)
	if err == nil && res.Failed > 0 {
		err = errFailures
	}
	return err
}

func runIdleCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("idle", `Opens -k IMAP connections (-tls starttls or imaps to include TLS), each LOGIN, SELECT INBOX, IDLE, holds
them -hold, and reports the server's memory per connection: the growth of RSS, RssAnon and PSS of its process tree
divided by the connections held. The server's per-IP connection limit must allow -k from 127.0.0.1 (this
project: [imap] max_connections_per_ip; Dovecot: mail_max_userip_connections and the service limits; see
docs/benchmarks.md).`)
	tf := addTargetFlags(fs)
	cfg := idleConfig{Log: out}
	var users, tlsName string
	fs.IntVar(&cfg.Conns, "k", 500, "connections to hold (at most 10000)")
	fs.DurationVar(&cfg.Hold, "hold", 10*time.Second, "how long to hold them before measuring")
	fs.StringVar(&users, "users", "idle1,idle2,idle3,idle4", "accounts, used in turn")
	fs.StringVar(&tlsName, "tls", "none", "IMAP TLS: none, starttls, imaps")
	t, err := tf.parse(args)
	if err != nil {
		return err
	}
	cfg.Users, cfg.TLS = t.addresses(users), tlsMode(tlsName)
	res, err := runIdle(ctx, t, cfg)
	res.report(out, cfg)
	return err
}
