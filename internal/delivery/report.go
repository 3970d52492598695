package delivery

import "context"

// Report delivers a message this server wrote itself, a delivery status notification, from the null sender to
// one recipient: stored at once when the address is local, queued when it is not. It goes through the same
// resolution as any message, so a report to an alias or a disabled mailbox behaves like other mail to it.
func (d *Deliverer) Report(ctx context.Context, to string, body []byte) (Result, error) {
	t := d.Begin(ctx, Envelope{Internal: true})
	if err := t.AddRecipient(ctx, to); err != nil {
		return Result{}, err
	}
	return t.Commit(ctx, body)
}
