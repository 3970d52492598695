package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
	"mailserver/internal/dns"
)

func newDomainCmd(a *app) *cobra.Command {
	cmd := group("domain", "Add, list and remove the mail domains served here; print their DNS records",
		`The mail domains this server receives mail for, such as vinhyen.gov.vn. A domain must exist before users
can be added in it, and can only be removed once it has no users left. Each domain has DKIM keys that sign its
outbound mail; 'mailserver domain dns' prints the records to publish.`)
	var ed25519 bool
	add := &cobra.Command{
		Use:   "add DOMAIN",
		Short: "Add a mail domain with a DKIM signing key",
		Long: `Add a mail domain and make its RSA DKIM signing key (and an Ed25519 one with --ed25519). Write a
domain with non-ASCII letters in its ASCII (xn--) form. Then publish the records that 'mailserver domain dns
DOMAIN' prints: MX, SPF, DKIM, DMARC and the client settings.`,
		Example: `  mailserver domain add vinhyen.gov.vn
  mailserver domain add phucyen.vinhphuc.gov.vn --ed25519`,
		Args: args("DOMAIN"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				if err := ctl.Do(api, ctl.DomainAdd, ctl.DomainArgs{Name: args[0]}); err != nil {
					return err
				}
				if ed25519 {
					if _, err := ctl.Call(api, ctl.DomainDKIM, ctl.DKIMArgs{Domain: args[0], Algorithm: "ed25519"}); err != nil {
						return err
					}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "added domain %s; publish its DNS records: mailserver domain dns %s\n",
					displayDomain(args[0]), displayDomain(args[0]))
				return nil
			})
		}),
	}
	add.Flags().BoolVar(&ed25519, "ed25519", false, "also make an Ed25519 DKIM key (RFC 8463)")
	var algorithm, remove string
	dkim := &cobra.Command{
		Use:   "dkim DOMAIN",
		Short: "Make a new DKIM signing key for a domain, or retire an old one",
		Long: `Make a new DKIM signing key for a domain: an Ed25519 key next to the RSA one, or a new key to rotate
to. Outbound mail is signed with every key the domain has, newest first, so publish the new record (see
'mailserver domain dns') at once.

To rotate: make the new key, publish its record, wait until DNS serves it (the old record's TTL at least), then
retire the old key with --remove SELECTOR. The selectors are the names before ._domainkey in 'mailserver domain
dns'. The last key of a domain cannot be removed.`,
		Example: `  mailserver domain dkim vinhyen.gov.vn --algorithm ed25519
  mailserver domain dkim vinhyen.gov.vn --remove rsa-202611-3f9c`,
		Args: func(cmd *cobra.Command, argv []string) error {
			if cmd.Flags().Changed("remove") && cmd.Flags().Changed("algorithm") {
				return errors.New("give either --algorithm (to make a key) or --remove (to retire one), not both")
			}
			return args("DOMAIN")(cmd, argv)
		},
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				if cmd.Flags().Changed("remove") {
					return removeDKIMKey(cmd.OutOrStdout(), api, args[0], remove)
				}
				return addDKIMKey(cmd.OutOrStdout(), api, args[0], algorithm)
			})
		}),
	}
	dkim.Flags().StringVar(&algorithm, "algorithm", "rsa", "rsa or ed25519")
	dkim.Flags().StringVar(&remove, "remove", "", "retire the key with this selector instead of making one")
	dnsCmd := &cobra.Command{
		Use:   "dns DOMAIN",
		Short: "Print the DNS records a domain needs, as zone-file lines",
		Long: `Print every DNS record the domain needs, as lines of a zone file: MX, SPF, DKIM, DMARC, and the SRV and
autoconfig records that let mail clients find the server. The host names and ports come from the configuration
(hostname, and the submission and IMAP listeners; a listener that is off or on loopback only is published as not
offered). With a [smarthost], the SPF record lets it send the domain's mail too. The output can also be used as
it is as the [dns] records file of another server on a closed network.`,
		Example: `  mailserver domain dns vinhyen.gov.vn`,
		Args:    args("DOMAIN"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			return a.withAdmin(func(api ctl.Backend) error {
				keys, err := ctl.Call(api, ctl.DomainKeys, ctl.DomainArgs{Name: args[0]})
				if err != nil {
					return err
				}
				fmt.Fprint(cmd.OutOrStdout(), admin.FormatDomainRecords(keysDomain(args[0], keys), admin.MailHostFor(cfg), keys))
				return nil
			})
		}),
	}
	cmd.AddCommand(
		add,
		&cobra.Command{
			Use:     "list",
			Short:   "List the mail domains, one per line",
			Example: `  mailserver domain list`,
			Args:    args(),
			RunE: runE(func(cmd *cobra.Command, _ []string) error {
				return a.withAdmin(func(api ctl.Backend) error {
					ds, err := ctl.Call(api, ctl.DomainList, ctl.None{})
					if err != nil {
						return err
					}
					for _, d := range ds {
						fmt.Fprintln(cmd.OutOrStdout(), d.Name)
					}
					return nil
				})
			}),
		},
		&cobra.Command{
			Use:   "remove DOMAIN",
			Short: "Remove a mail domain that has no users",
			Long: `Remove a mail domain. The domain must have no users left: remove them first with
'mailserver user remove ADDRESS'.`,
			Example: `  mailserver domain remove phucyen.vinhphuc.gov.vn`,
			Args:    args("DOMAIN"),
			RunE: runE(func(cmd *cobra.Command, args []string) error {
				return a.withAdmin(func(api ctl.Backend) error {
					if err := ctl.Do(api, ctl.DomainRemove, ctl.DomainArgs{Name: args[0]}); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "removed domain %s\n", displayDomain(args[0]))
					return nil
				})
			}),
		},
		dkim,
		dnsCmd,
	)
	return cmd
}

// addDKIMKey makes a key and prints the record to publish.
func addDKIMKey(w io.Writer, api ctl.Backend, domain, algorithm string) error {
	k, err := ctl.Call(api, ctl.DomainDKIM, ctl.DKIMArgs{Domain: domain, Algorithm: algorithm})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "made %s key %s for %s; publish:\n%s\n", k.Algorithm, k.Selector, k.Domain,
		dns.TXT(k.Selector+"._domainkey."+k.Domain, k.Record))
	return nil
}

// removeDKIMKey retires a key and says what is left to do in DNS: a receiver checks a signature when the message
// reaches it, which for mail sent just before (or delayed on the way) is later, so the record goes a few days on.
func removeDKIMKey(w io.Writer, api ctl.Backend, domain, selector string) error {
	if err := ctl.Do(api, ctl.DomainDKIMRemove, ctl.SelectorArgs{Domain: domain, Selector: selector}); err != nil {
		return err
	}
	name := display(selector) + "._domainkey." + displayDomain(domain)
	fmt.Fprintf(w, "removed DKIM key %s of %s: mail is no longer signed with it. Delete its DNS record %s in a few "+
		"days, once mail signed with it has arrived.\n", display(selector), displayDomain(domain), name)
	return nil
}

// keysDomain is the domain as the store spells it (lower-case A-labels, no trailing dot).
func keysDomain(arg string, keys []admin.DKIMKey) string {
	if len(keys) > 0 {
		return keys[0].Domain
	}
	return displayDomain(arg)
}
