// Package store keeps everything durable — the directory (domains, accounts), mailboxes, messages, bodies, the
// outbound queue, DKIM keys — in one bbolt file. It is the only package that imports bbolt; its exported API speaks in mail terms (Deliver, Append,
// SetFlags, Expunge, …) so that a different backend could later sit behind the same seam.
//
// # Layout
//
// Buckets (see store.go): meta (schema version, counters), domains, accounts (by address) and account ids,
// mailboxes (by account id + name) and mailbox ids, one message bucket per mailbox (entries keyed by big-endian UID),
// bodies (one record per distinct body: SHA-256 → refcount, size, sequence number, parse metadata), body_texts
// (folded search text, s2-compressed behind the form byte of text.go; older records hold it zstd-compressed or plain) and body_chunks (the body bytes, 64 KiB per key), both keyed by the body's sequence number
// so that new bodies are appended rather than scattered among the old by their hash (schema 2; migrate.go moves a
// schema 1 file), body_sorts (what SORT and THREAD compare, keyed the same way; schema 3, sortrecords.go, the one
// place the store computes something of a message, with internal/message), body_headers (each body's root header
// without its trace and signature fields, keyed the same way, read by FETCH of header fields; headers.go; written
// in the background in body order up to a watermark in meta, headercopy.go, so a body may have none yet), subscriptions (kept apart from mailboxes, which they outlive) and body_freed (released bodies
// whose chunks the background sweep deletes); the directory's units, aliases, groups
// and grants with their indexes, and the audit trail; queue (queued messages by id, each holding a body reference
// like a mailbox entry) with queue_due (next attempt + id, so due messages are one cursor seek away), and dkim_keys
// (domain + selector); expunged (schema 3: mailbox id + modseq + uid, the expunge log QRESYNC reads, bounded per
// mailbox, see expungelog.go); index_postings, index_terms and index_state (schema 4: the search index, per mailbox
// and field, written by a background indexer outside deliveries' transactions; index.go, indexsearch.go for how it
// keeps SEARCH's substring semantics exact, indexer.go) and index_recent (schema 5: each batch's postings as a
// segment of their own, merged into index_postings sixteen at a time, so that a batch into a large mailbox writes a
// few neighbouring values rather than a page per term; indexrecent.go); sieve_scripts (account id + name) and
// sieve_active (account id → the active script's name, so at most one is active by construction), sieve.go; and
// sieve_vacation (account id + SHA-256 of a vacation handle and sender → until when no reply is due, with a count
// per account under the account id alone, bounded; vacation.go). Chunks never share a bucket with
// anything that changes often, because bbolt rewrites a whole leaf whenever any key in it changes.
//
// # Rules
//
//   - Every externally visible change is made in one bbolt read-write transaction: a delivery to N recipients
//     commits all N copies, their quota counters and the shared body together, or nothing.
//   - Writes go through the commit loop (update, commit.go). Callers that arrive while a transaction commits share
//     the next one and its one fsync (group commit), up to a bound in callers and bytes; each returns only after
//     that transaction has committed, so an SMTP 250 or an IMAP OK always follows the sync. A lone caller commits
//     at once, or after a few milliseconds at most when deliveries are being parsed that can share its commit
//     (PrepareWrite). Background batches (index, header copies, entry upgrade) ride in the deliveries'
//     transactions, one at a time (updateBackground); the sweep runs alone. A function that fails or panics fails alone: the transaction is rolled back and the others run again
//     without it. So the function passed to update MAY RUN MORE THAN ONCE: it must have no effect outside the
//     transaction and the changes it records (reset result slices at its start; never signal, log or send from it).
//   - Remote recipients of a delivery are queued in the delivery's transaction (DeliverMessage), so a 250 covers
//     both the local copies and the queue entry; a commit touching the queue signals QueueSignal.
//   - A body is stored once per distinct content and reference-counted (mailbox entries and queued messages); the
//     last reference going deletes its record in the same transaction, and its chunks are deleted later by a
//     background sweep (sweep.go), in bounded transactions of its own, never in a delivery's, and not while a
//     reader has it pinned (PinBodies): bodies are read chunk by chunk outside transactions, and must not vanish
//     mid-read.
//   - An audit record goes in the transaction of the change it records (WithAudit, WithAuditOf): the trail holds
//     exactly the changes that were made, never one that rolled back, never a change without its record.
//   - After a transaction commits, its changes are announced to every subscriber (Subscribe) in commit order,
//     caller by caller, before its callers return and before the next transaction commits; each Change carries the
//     commit's sequence (Change.Commit). The IMAP layer turns them into EXISTS/EXPUNGE/FETCH updates. Subscribers
//     run on the committing goroutine: they must only queue in-memory updates, never block on a network peer.
//   - Entries of the first layout (version 1, no body place) are rewritten in the background once
//     (entryupgrade.go); bulk reads rest while others' writes stream in (pace.go).
//   - Reads never wait for writes: they run in read transactions. MailboxSnapshot (SELECT) reports the last commit
//     it holds and returns once that commit has been announced, so a subscriber can drop the changes the snapshot
//     already holds and apply the rest.
//
// # Caveats
//
//   - Byte slices read from bbolt die with their transaction; everything returned here is a copy, except what
//     ViewMessages hands its callback (the message's slices and BodyView), valid only until the callback returns.
//   - Never delete keys while iterating a cursor: collect, then delete.
//   - The file never shrinks on its own; compaction is an offline operation.
package store
