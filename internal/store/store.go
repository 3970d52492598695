package store

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the version of the on-disk layout this code writes. Open migrates older files forward.
const SchemaVersion = 5

var (
	bucketMeta          = []byte("meta")
	bucketDomains       = []byte("domains")
	bucketAccounts      = []byte("accounts")       // address → account record
	bucketAcctIDs       = []byte("account_id")     // account id → address
	bucketMailboxes     = []byte("mailboxes")      // account id + name → mailbox record
	bucketMboxIDs       = []byte("mailbox_id")     // mailbox id → account id + name
	bucketMessages      = []byte("messages")       // mailbox id → nested bucket: uid → entry
	bucketBodies        = []byte("bodies")         // body id → body record, with the body's sequence number
	bucketTexts         = []byte("body_texts")     // body seq → folded search text
	bucketChunks        = []byte("body_chunks")    // body seq + chunk no → up to ChunkSize bytes
	bucketSubscriptions = []byte("subscriptions")  // account id + mailbox name → nothing
	bucketFreed         = []byte("body_freed")     // body seq → body id + size: released, chunks not yet deleted
	bucketUnits         = []byte("units")          // unit path → unit record
	bucketUnitMembers   = []byte("unit_members")   // unit path NUL address → nothing: accounts by unit
	bucketAliases       = []byte("aliases")        // alias address → alias record
	bucketGroups        = []byte("groups")         // group address → group record
	bucketAliasTargets  = []byte("alias_targets")  // target NUL alias → nothing: aliases by direct target
	bucketGroupSenders  = []byte("group_senders")  // sender NUL group → nothing: groups by listed sender
	bucketGrants        = []byte("grants")         // shared account id + grantee account id → rights
	bucketGrantsBy      = []byte("grants_by")      // grantee account id + shared account id → rights
	bucketAudit         = []byte("audit")          // time (ns, big-endian) + sequence → audit record
	bucketImportKeys    = []byte("import_keys")    // mailbox id + hash of an import key → uid (import.go)
	bucketImportSources = []byte("import_sources") // account id + source NUL folder → mark (importsource.go)
	bucketImportCopies  = []byte("import_copies")  // account id + source NUL folder NUL uid → copy (importsource.go)
	bucketSieve         = []byte("sieve_scripts")  // account id + script name → script record (sieve.go)
	bucketSieveActive   = []byte("sieve_active")   // account id → the name of its active script (sieve.go)
	bucketVacation      = []byte("sieve_vacation") // account id + SHA-256(handle NUL sender) → reply memory (vacation.go)

	keySchema         = []byte("schema")
	keyLastUIDValidty = []byte("last_uidvalidity")
)

var allBuckets = [][]byte{bucketMeta, bucketDomains, bucketAccounts, bucketAcctIDs, bucketMailboxes, bucketMboxIDs,
	bucketMessages, bucketBodies, bucketTexts, bucketChunks, bucketSubscriptions, bucketFreed,
	bucketUnits, bucketUnitMembers, bucketAliases, bucketGroups, bucketGrants, bucketGrantsBy, bucketAudit,
	bucketAliasTargets, bucketGroupSenders, bucketQueue, bucketQueueDue, bucketDKIM, bucketImportKeys,
	bucketImportSources, bucketImportCopies, bucketExpunged, bucketPostings, bucketIndexTerms, bucketIndexState, bucketHeaders,
	bucketIndexRecent, bucketSieve, bucketSieveActive, bucketVacation, bucketWebSessions}

// laterBuckets came after the first release: a backup made before them lacks them, and opening it creates them.
var laterBuckets = [][]byte{bucketImportSources, bucketImportCopies, bucketTexts, bucketChunks, bucketFreed,
	bucketExpunged, bucketPostings, bucketIndexTerms, bucketIndexState, bucketHeaders, bucketIndexRecent, bucketSieve, bucketSieveActive, bucketVacation, bucketWebSessions}

// Options tune Open. The zero value is the production setting.
type Options struct {
	// NoSync skips fsync. Only tests may set it: acknowledged mail must be on disk.
	NoSync bool
	// LockTimeout bounds the wait for the file lock held by another process (default 1s).
	LockTimeout time.Duration
	// NoIndexer leaves the search index and the header copies as they are: no background indexing or copying,
	// searches scan what is unindexed and FETCH reads headers from the bodies (tests, benchmarks, and commands that
	// open the file briefly).
	NoIndexer bool
	// IndexDelay is how long a mailbox's newest messages may wait to be indexed while there are few of them and
	// writes go on (default 10s; once writes have been quiet for half a second they are indexed at once); searches
	// read the unindexed ones directly meanwhile.
	IndexDelay time.Duration
}

// Store is the mail store. It is safe for concurrent use.
type Store struct {
	*core
	// audit is written in the same transaction as the next change made through this value (WithAudit): a change
	// and its audit record commit together or not at all. describe builds records from the change itself.
	audit    []AuditRecord
	describe []func([]Change) []AuditRecord
}

// core is the state every Store value made by WithAudit shares.
type core struct {
	db *bolt.DB

	// queue is the commit loop (commit.go): every write goes through it, and callers that arrive together share
	// a transaction and its fsync.
	queue commitQueue
	// subMu guards the subscriber list and orders announcements: the commit loop announces one batch's changes
	// under it, after the commit and before the next batch commits, so subscribers see changes in commit order.
	subMu         sync.Mutex
	subscriptions []*subscription // guarded by subMu
	announced     announcedState  // the commit being announced (a read that saw it waits, see view)
	now           func() time.Time

	queueSignal chan struct{} // see QueueSignal

	pinMu sync.Mutex
	pins  map[BodyID]int // bodies being read outside a transaction; their chunks are not deleted yet

	indexer *indexer // the background search indexer; nil with Options.NoIndexer

	sweeper sweeper // deletes the chunks of released bodies in the background (sweep.go)

	upgrader *entryUpgrader // rewrites entries of version 1 in the background (entryupgrade.go); nil with NoIndexer

	snapshotHook func() // set by tests before use: runs inside MailboxSnapshot's read transaction, before the UID scan
}

// WithAudit returns the store with records to write in the same transaction as the next change made through it,
// so that the audit trail holds exactly the changes that happened: it is meant for one operation, as in
// st.WithAudit(rec).RemoveAlias(a). A record without a time gets the commit's.
func (s *Store) WithAudit(records ...AuditRecord) *Store {
	return &Store{core: s.core, audit: append(slices.Clone(s.audit), records...), describe: s.describe}
}

// WithAuditOf is WithAudit for records that depend on what the change turns out to be (the UIDs an EXPUNGE
// removed, say): describe gets the change's Changes inside its transaction and returns the records to write.
func (s *Store) WithAuditOf(describe func([]Change) []AuditRecord) *Store {
	return &Store{core: s.core, audit: s.audit, describe: append(slices.Clone(s.describe), describe)}
}

// Open opens (creating if needed) the store at path and migrates it to SchemaVersion.
func Open(path string, opts Options) (*Store, error) {
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         timeout,
		FreelistType:    bolt.FreelistMapType,
		NoSync:          opts.NoSync,
		InitialMmapSize: initialMmapSize(path),
		// Not the list of free pages at every commit: bbolt writes it whole, so the more space deleted mail left
		// free, the more every delivery writes, and while a backup runs none of it can be reused (a 10 GB store
		// grew by 1 GB during one backup). An open after a crash finds the free pages by reading the whole tree
		// instead (seconds for 10 GB); Close writes the list once, so that a clean restart need not.
		NoFreelistSync: true,
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: the file is locked by another process (is the server running?)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{core: &core{db: db, now: time.Now, pins: map[BodyID]int{}, queueSignal: make(chan struct{}, 1)}}
	s.queue.idle.L = &s.queue.mu
	s.announced.done.L = &s.announced.mu
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, err
	}
	// The sweeper's first round deletes the chunks of bodies released before a crash or shutdown.
	s.startSweeper()
	if !opts.NoIndexer {
		s.indexer = newIndexer(s, opts.IndexDelay)
		s.indexer.start()
		s.startEntryUpgrader()
	}
	return s, nil
}

// mmapHeadroom is the least room mapped ahead of the file's end. A remap waits until every read transaction has
// ended, so while a backup (one long read transaction) runs, a delivery that needs a remap waits for the rest of
// the backup, and every other write and read waits behind it. The room mapped ahead lets the store grow by that
// much first; it costs address space only.
const mmapHeadroom = 1 << 30

// initialMmapSize maps the file with room for it to double (at least mmapHeadroom), on 64-bit systems where
// address space is plentiful: what a backup lets the store grow by grows with the time it takes to copy the store.
// Past that room, bbolt maps 1 GiB more at a time, so a store that has doubled since the server started is back
// to stalls behind long backups until the next start.
func initialMmapSize(path string) int {
	if strconv.IntSize < 64 {
		return 0
	}
	size := int(fileSize(path))
	return size + max(size, mmapHeadroom)
}

// Close stops the background indexer and sweep, lets the writes already queued commit (later ones get ErrClosed),
// writes the list of free pages, so that the next open need not read the whole file to find them, and closes the
// file. In-flight read transactions finish first.
func (s *Store) Close() error {
	if ix := s.indexer; ix != nil {
		ix.stopOnce.Do(ix.stopAndWait)
	}
	s.stopSweeper()
	s.stopEntryUpgrader()
	s.drainCommits()
	err := s.db.Update(func(*bolt.Tx) error {
		s.db.NoFreelistSync = false // read by this commit only: the writer lock is held
		return nil
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		err = nil // closed already
	}
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Path is the store's file name.
func (s *Store) Path() string { return s.db.Path() }

// view runs fn in a read transaction, which never waits for a write. It returns once the changes of every commit
// the transaction saw have been announced (at once, nearly always): so what a session writes from a read comes
// after the updates queued for it from the same commits, and a FETCH never shows a message's flags newer than an
// update the session has yet to send (the library drops such an update, see SessionTracker.SentModSeq).
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	var seen uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		seen = uint64(tx.ID())
		return fn(tx)
	})
	s.awaitAnnounced(seen)
	return err
}
