package delivery

import (
	"context"
	"log/slog"
)

// Report delivers a message this server wrote itself, a delivery status notification, from the null sender to
// one recipient: stored at once when the address is local, queued when it is not. It goes through the same
// resolution as any message, so a report to an alias or a disabled mailbox behaves like other mail to it. log is
// the log of the message reported on (its ID), which the report's lines join with the report's own ID
// (ReportAttr); nil: the Deliverer's.
func (d *Deliverer) Report(ctx context.Context, log *slog.Logger, to string, body []byte) (Result, error) {
	t := d.Begin(ctx, Envelope{Internal: true, Logger: log})
	if err := t.AddRecipient(ctx, to); err != nil {
		return Result{}, err
	}
	return t.Commit(ctx, body)
}

// DeliverQueued delivers a message of the outbound queue to recipients in this server's domains (what a filter
// forwarded or an automatic reply to a colleague): as mail arriving from elsewhere, so that the hop count stops
// filters forwarding to each other in a loop. Each recipient is accepted or refused on its own (refused, by
// address); err is the failure of the commit, which leaves every accepted recipient to try again.
func (d *Deliverer) DeliverQueued(ctx context.Context, log *slog.Logger, from string, rcpts []string, body []byte) (refused map[string]error, err error) {
	t := d.Begin(ctx, Envelope{From: from, Logger: log})
	refused = map[string]error{}
	for _, r := range rcpts {
		if err := t.AddRecipient(ctx, r); err != nil {
			refused[r] = err
		}
	}
	if len(refused) == len(rcpts) {
		t.Abort()
		return refused, nil
	}
	_, err = t.Commit(ctx, body)
	return refused, err
}
