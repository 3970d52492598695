package queue

import (
	"log/slog"
	"slices"

	"mailserver/internal/address"
	"mailserver/internal/mailauth"
	"mailserver/internal/message"
	"mailserver/internal/store"
)

// sign returns the DKIM-Signature fields to put before msg: signed with the keys of the From header's domain, so
// that the signature aligns with the author for DMARC at the receiver. A message whose author domain has no key
// here (a report from MAILER-DAEMON at the host name, say) goes unsigned. A signing failure is logged and the
// message goes unsigned: the receiver then judges it by SPF, rather than never getting it.
func (w *Worker) sign(log *slog.Logger, msg []byte) []byte {
	domain := authorDomain(msg)
	if domain == "" {
		return nil
	}
	keys, err := w.opts.Store.DKIMKeys(domain)
	if err != nil {
		log.Error("read DKIM keys", "domain", domain, "err", err)
		return nil
	}
	if len(keys) == 0 {
		return nil
	}
	mk := make([]mailauth.Key, len(keys))
	for i, k := range newestFirst(keys) {
		mk[i] = mailauth.Key{Selector: k.Selector, Algorithm: k.Algorithm, Private: k.Private}
	}
	sig, err := mailauth.Sign(msg, domain, mk)
	if err != nil {
		log.Error("DKIM signing failed; sending unsigned", "domain", domain, "err", err)
		return nil
	}
	return sig
}

// newestFirst orders keys by age, newest first, so that after a rotation the new key's signature heads the message:
// a receiver may verify only the first few signatures (RFC 6376 6.1; the MX here checks five), and the old key's
// record is the one about to be withdrawn. Keys made in the same second keep the store's (selector) order.
func newestFirst(keys []store.DKIMKey) []store.DKIMKey {
	slices.SortStableFunc(keys, func(a, b store.DKIMKey) int { return b.Created.Compare(a.Created) })
	return keys
}

// authorDomain is the domain of the first From address as the directory stores domains (lower-case A-labels), or "".
func authorDomain(msg []byte) string {
	p := message.Parse(headerOf(msg)) // the header is enough: no need to walk a large body
	if p.Envelope == nil || len(p.Envelope.From) == 0 {
		return ""
	}
	return address.FoldDomain(p.Envelope.From[0].Host)
}
