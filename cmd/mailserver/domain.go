package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"mailserver/internal/admin"
	"mailserver/internal/config"
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
			return a.withAdmin(func(api admin.API) error {
				if err := api.AddDomain(args[0]); err != nil {
					return err
				}
				if ed25519 {
					if _, err := api.AddDKIMKey(args[0], "ed25519"); err != nil {
						return err
					}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "added domain %s; publish its DNS records: mailserver domain dns %s\n",
					display(args[0]), display(args[0]))
				return nil
			})
		}),
	}
	add.Flags().BoolVar(&ed25519, "ed25519", false, "also make an Ed25519 DKIM key (RFC 8463)")
	var algorithm string
	dkim := &cobra.Command{
		Use:   "dkim DOMAIN",
		Short: "Make a new DKIM signing key for a domain",
		Long: `Make a new DKIM signing key for a domain: an Ed25519 key next to the RSA one, or a new key to rotate
to. Outbound mail is signed with every key the domain has, so publish the new record (see 'mailserver domain
dns') at once.`,
		Example: `  mailserver domain dkim vinhyen.gov.vn --algorithm ed25519`,
		Args:    args("DOMAIN"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api admin.API) error {
				k, err := api.AddDKIMKey(args[0], algorithm)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "made %s key %s for %s; publish:\n%s\n", k.Algorithm, k.Selector,
					k.Domain, dns.TXT(k.Selector+"._domainkey."+k.Domain, k.Record))
				return nil
			})
		}),
	}
	dkim.Flags().StringVar(&algorithm, "algorithm", "rsa", "rsa or ed25519")
	dnsCmd := &cobra.Command{
		Use:   "dns DOMAIN",
		Short: "Print the DNS records a domain needs, as zone-file lines",
		Long: `Print every DNS record the domain needs, as lines of a zone file: MX, SPF, DKIM, DMARC, and the SRV and
autoconfig records that let mail clients find the server. The host names and ports come from the configuration
(hostname, and the submission and IMAP listeners). The output can also be used as it is as the [dns] records
file of another server on a closed network.`,
		Example: `  mailserver domain dns vinhyen.gov.vn`,
		Args:    args("DOMAIN"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			return a.withAdmin(func(api admin.API) error {
				keys, err := api.DKIMKeys(args[0])
				if err != nil {
					return err
				}
				fmt.Fprint(cmd.OutOrStdout(), admin.FormatDomainRecords(keysDomain(args[0], keys), mailHost(cfg), keys))
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
				return a.withAdmin(func(api admin.API) error {
					ds, err := api.ListDomains()
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
				return a.withAdmin(func(api admin.API) error {
					if err := api.RemoveDomain(args[0]); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "removed domain %s\n", display(args[0]))
					return nil
				})
			}),
		},
		dkim,
		dnsCmd,
	)
	return cmd
}

// keysDomain is the domain as the store spells it (lower-case, no trailing dot) when it has keys.
func keysDomain(arg string, keys []admin.DKIMKey) string {
	if len(keys) > 0 {
		return keys[0].Domain
	}
	return strings.ToLower(strings.TrimSuffix(arg, "."))
}

// mailHost is how clients and servers reach this server, from the configuration: its host name and the ports of
// its client listeners.
func mailHost(cfg config.Config) admin.MailHost {
	port := func(addr string) int {
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			return 0
		}
		n, _ := strconv.Atoi(p)
		return n
	}
	return admin.MailHost{Hostname: cfg.Hostname, Submission: port(cfg.SMTP.Submission),
		Submissions: port(cfg.SMTP.Submissions), IMAP: port(cfg.IMAP.Listen), IMAPS: port(cfg.IMAP.ListenTLS),
		HTTPS: port(cfg.HTTP.ListenTLS)}
}
