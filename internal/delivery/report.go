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
