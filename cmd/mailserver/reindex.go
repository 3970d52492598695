package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"mailserver/internal/ctl"
)

func newReindexCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "reindex [ADDRESS]",
		Short: "Rebuild the search index of one user or shared mailbox, or of all",
		Long: `Rebuild the search index that answers IMAP SEARCH: drop the postings of the account's folders (of every
account without ADDRESS) and index every message again. Searches stay exact meanwhile, only slower. Works on a running
server and on a stopped one; mailserver check reports an index that disagrees with the messages.`,
		Example: `  mailserver reindex an.nv@vinhyen.gov.vn
  mailserver reindex`,
		Args: cobra.MaximumNArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			address := ""
			if len(args) == 1 {
				address = args[0]
			}
			return a.withAdmin(func(api ctl.Backend) error {
				r, err := ctl.Call(api, ctl.Reindex, ctl.AddressArgs{Address: address})
				if err != nil {
					return err
				}
				perMessage := int64(0)
				if r.IndexedMessages > 0 {
					perMessage = r.IndexBytes / r.IndexedMessages
				}
				fmt.Fprintf(cmd.OutOrStdout(), "search index rebuilt: %d bytes for %d messages (%d bytes a message)\n",
					r.IndexBytes, r.IndexedMessages, perMessage)
				return nil
			})
		}),
	}
}
