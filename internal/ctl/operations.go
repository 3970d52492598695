package ctl

import (
	"mailserver/internal/admin"
	"mailserver/internal/store"
)

// importArgsLimit bounds an import batch: its messages' bytes, up to store.ImportBatchBytes or one message alone of
// up to the largest size a server may be configured to take (1 GiB), and the JSON that describes them.
const importArgsLimit = 1<<30 + 4<<20

// The operations: the only place each is written. Adding one here makes the server answer it and lets the CLI
// Call it; the admin.Service method it runs holds the rules. Names follow the CLI's commands.
var (
	ping = define("ping", func(*admin.Service, None) (string, error) { return pingResult, nil }).within(pingTimeout)

	DomainAdd = define("domain.add", func(s *admin.Service, a DomainArgs) (None, error) {
		return none(s.AddDomain(a.Name))
	})
	DomainList   = define("domain.list", noArgs((*admin.Service).ListDomains))
	DomainRemove = define("domain.remove", func(s *admin.Service, a DomainArgs) (None, error) {
		return none(s.RemoveDomain(a.Name))
	})
	// DomainDKIM adds a DKIM key; making an RSA key takes a moment.
	DomainDKIM = define("domain.dkim", func(s *admin.Service, a DKIMArgs) (admin.DKIMKey, error) {
		return s.AddDKIMKey(a.Domain, a.Algorithm)
	})
	DomainKeys = define("domain.keys", func(s *admin.Service, a DomainArgs) ([]admin.DKIMKey, error) {
		return s.DKIMKeys(a.Name)
	})
	DomainDKIMRemove = define("domain.dkim.remove", func(s *admin.Service, a SelectorArgs) (None, error) {
		return none(s.RemoveDKIMKey(a.Domain, a.Selector))
	})

	UserAdd    = define("user.add", (*admin.Service).AddUser)
	UserList   = define("user.list", noArgs((*admin.Service).ListUsers))
	UserPasswd = define("user.passwd", func(s *admin.Service, a PasswordArgs) (None, error) {
		return none(s.SetPassword(a.Address, a.Password))
	})
	UserDisable = define("user.disable", func(s *admin.Service, a DisableArgs) (None, error) {
		if a.RejectMail {
			return none(s.DisableRejectingMail(a.Address))
		}
		return none(s.Disable(a.Address))
	})
	UserEnable = define("user.enable", func(s *admin.Service, a AddressArgs) (None, error) {
		return none(s.Enable(a.Address))
	})
	UserRemove = define("user.remove", func(s *admin.Service, a AddressArgs) (None, error) {
		return none(s.RemoveUser(a.Address))
	})
	UserMove = define("user.move", func(s *admin.Service, a MoveArgs) (None, error) {
		return none(s.MoveUser(a.Address, a.Unit))
	})
	// UserHandover copies a whole mailbox in one transaction, which may take a while.
	UserHandover = define("user.handover", func(s *admin.Service, a HandoverArgs) (admin.HandoverResult, error) {
		return s.Handover(a.From, a.To)
	}).within(longCallTimeout)

	UnitAdd = define("unit.add", func(s *admin.Service, a UnitArgs) ([]admin.UnitInfo, error) {
		return s.AddUnit(a.Path, a.Name)
	})
	UnitList = define("unit.list", noArgs((*admin.Service).ListUnits))
	UnitSet  = define("unit.set", func(s *admin.Service, a UnitArgs) (admin.UnitInfo, error) {
		return s.SetUnitName(a.Path, a.Name)
	})
	UnitRemove = define("unit.remove", func(s *admin.Service, a UnitArgs) (None, error) {
		return none(s.RemoveUnit(a.Path))
	})

	AliasAdd = define("alias.add", func(s *admin.Service, a AliasArgs) (admin.AliasInfo, error) {
		return s.AddAlias(a.Alias, a.Target)
	})
	AliasList   = define("alias.list", noArgs((*admin.Service).ListAliases))
	AliasRemove = define("alias.remove", func(s *admin.Service, a AliasArgs) (None, error) {
		return none(s.RemoveAlias(a.Alias))
	})

	GroupAdd  = define("group.add", (*admin.Service).AddGroup)
	GroupList = define("group.list", noArgs((*admin.Service).ListGroups))
	GroupShow = define("group.show", func(s *admin.Service, a AddressArgs) (admin.GroupInfo, error) {
		return s.ShowGroup(a.Address)
	})
	GroupUpdate = define("group.update", (*admin.Service).UpdateGroup)
	GroupSet    = define("group.set", (*admin.Service).SetGroup)
	GroupRemove = define("group.remove", func(s *admin.Service, a AddressArgs) (None, error) {
		return none(s.RemoveGroup(a.Address))
	})

	ShareAdd   = define("share.add", (*admin.Service).AddShared)
	ShareGrant = define("share.grant", func(s *admin.Service, a GrantArgs) (admin.GrantInfo, error) {
		return s.Grant(a.Shared, a.Account, a.Rights)
	})
	ShareRevoke = define("share.revoke", func(s *admin.Service, a GrantArgs) (None, error) {
		return none(s.Revoke(a.Shared, a.Account))
	})
	ShareList = define("share.list", noArgs((*admin.Service).ListShared))

	QuotaSet = define("quota.set", func(s *admin.Service, a QuotaArgs) (None, error) {
		return none(s.SetQuota(a.Address, a.Quota))
	})
	QuotaReport = define("quota.report", noArgs((*admin.Service).QuotaReport))

	Audit = define("audit", (*admin.Service).AuditLog)

	// The filter scripts (Sieve) of a user or shared mailbox, the same ones ManageSieve edits. sieve.get's text
	// travels as bytes (base64 in JSON), which keeps it exactly as it was stored.
	SieveList = define("sieve.list", func(s *admin.Service, a AddressArgs) ([]admin.SieveScriptInfo, error) {
		return s.SieveScripts(a.Address)
	})
	SieveGet = define("sieve.get", func(s *admin.Service, a SieveArgs) ([]byte, error) {
		src, err := s.SieveScript(a.Address, a.Name)
		return []byte(src), err
	})
	// SievePut's script travels raw after its arguments (sieve.go).
	SievePut = define("sieve.put", func(s *admin.Service, a SievePutArgs) (None, error) {
		return none(s.PutSieveScript(a.Address, a.Name, a.Script, a.Activate))
	}).largeArgs(sievePutArgsLimit).rawBytes(splitSievePut, joinSievePut)
	SieveActivate = define("sieve.activate", func(s *admin.Service, a SieveArgs) (None, error) {
		return none(s.ActivateSieveScript(a.Address, a.Name))
	})
	SieveRemove = define("sieve.remove", func(s *admin.Service, a SieveArgs) (None, error) {
		return none(s.RemoveSieveScript(a.Address, a.Name))
	})
	// An automatic reply set by an administrator: a filter script of its own (admin.SetVacation).
	VacationSet = define("vacation.set", func(s *admin.Service, a admin.VacationRequest) (None, error) {
		return none(s.SetVacation(a))
	})
	VacationOff = define("vacation.off", func(s *admin.Service, a AddressArgs) (None, error) {
		return none(s.VacationOff(a.Address))
	})

	QueueList = define("queue.list", noArgs((*admin.Service).ListQueue))
	QueueShow = define("queue.show", func(s *admin.Service, a QueueArgs) (admin.QueueEntry, error) {
		return s.ShowQueue(a.ID)
	})
	// QueueRetry with an empty ID retries the whole queue, a transaction per message.
	QueueRetry = define("queue.retry", func(s *admin.Service, a QueueArgs) (int, error) {
		return s.RetryQueue(a.ID)
	}).within(longCallTimeout)
	QueueRemove = define("queue.remove", func(s *admin.Service, a QueueArgs) (None, error) {
		return none(s.RemoveQueue(a.ID))
	})
	QueueBounce = define("queue.bounce", func(s *admin.Service, a QueueArgs) (None, error) {
		return none(s.BounceQueue(a.ID))
	})

	// Backup streams a consistent snapshot of the whole store (see stream.go for the wire format).
	Backup = defineStream("backup", func(s *admin.Service, _ None) (Stream[store.BackupInfo], error) {
		sn, err := s.BeginBackup()
		if err != nil {
			return Stream[store.BackupInfo]{}, err
		}
		return Stream[store.BackupInfo]{Header: sn.Info(), Len: sn.Info().Size, WriteTo: sn.WriteTo, Close: sn.Close}, nil
	})
	BackupRecord = define("backup.record", func(s *admin.Service, n admin.BackupNote) (None, error) {
		return none(s.RecordBackup(n))
	})
	BackupLast = define("backup.last", noArgs((*admin.Service).LastBackup))

	// The export of an account (mailserver export): its folders (recorded in the audit trail), a folder's
	// messages, and their bytes in batches of at most admin.ExportBatchBytes.
	ExportFolders = define("export.folders", func(s *admin.Service, a ExportArgs) ([]admin.ExportFolder, error) {
		return s.ExportFolders(a.Address, a.Format, a.Dir)
	})
	ExportMessages = define("export.messages", func(s *admin.Service, a ExportArgs) ([]admin.ExportMessage, error) {
		return s.ExportMessages(a.Address, a.Folder)
	}).within(longCallTimeout)
	// ExportRead streams the pieces' bytes one after another after a header that describes them, so that message
	// bytes cross the socket as they are rather than in JSON.
	ExportRead = defineStream("export.read", func(s *admin.Service, a ExportArgs) (Stream[[]ExportPieceHeader], error) {
		pieces, err := s.ExportRead(a.Address, a.Folder, a.UIDs, a.Offset)
		return piecesStream(pieces), err
	})
	// ImportBatch stores one bounded batch of messages read by the importer (admin.ImportBatch). The messages'
	// bytes travel raw after the JSON that describes the batch (import.go).
	ImportBatch = define("import.batch", (*admin.Service).Import).within(longCallTimeout).largeArgs(importArgsLimit).
			rawBytes(splitImportBatch, joinImportBatch)
	// ImportMarks says how far earlier imports from a server got, for a re-run to go on from there.
	ImportMarks = define("import.marks", (*admin.Service).ImportMarks)
	// ImportFlags brings flag changes made on a source server to the messages copied from it.
	ImportFlags = define("import.flags", (*admin.Service).SyncImportFlags).within(longCallTimeout)

	// Status says how the server is doing: its listeners and uptime when it runs, the directory's size, the queue,
	// the store file and the last backup.
	Status = define("status", noArgs((*admin.Service).Status))

	// Check reads the whole store.
	Check = define("check", noArgs((*admin.Service).Check)).within(longCallTimeout)
	// Reindex rebuilds the search index of one account, or of all ("" address).
	Reindex = define("reindex", func(s *admin.Service, a AddressArgs) (admin.ReindexReport, error) {
		return s.Reindex(a.Address)
	}).within(longCallTimeout)
)
