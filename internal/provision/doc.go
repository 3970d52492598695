// Package provision creates many accounts at once from a spreadsheet (CSV) of staff: the logic behind
// `mailserver user import FILE.csv [--dry-run] [--out FILE]`.
//
// An import has two steps. Plan reads the file and compares it with a snapshot of the directory (Directory, read
// once: planning costs no store reads per row); it changes nothing, so a dry run is Plan alone. Apply creates the
// planned accounts through AdminAPI (admin.Service on the store file, or the control-socket client of a running
// server) with a random initial password each, and WriteCredentials writes those passwords to the --out file made
// by CreateCredentialsFile (mode 0600, never overwritten). Passwords are shown nowhere else.
//
// # The file
//
// One row per person, in UTF-8 with or without a byte-order mark, separated by commas, semicolons (what Excel
// writes in a Vietnamese locale) or tabs: the separator is the one the first non-blank line uses most.
// Columns:
//
//	full name   "họ và tên", "họ tên", "name"        required, e.g. Nguyễn Văn An
//	unit        "đơn vị", "đơn vị công tác"          required, an existing unit path, e.g. vinhyen/ubnd/phong-noi-vu
//	address     "địa chỉ", "email", "địa chỉ email"  optional: see below
//	quota       "dung lượng", "hạn mức"              optional, e.g. 2GB or 1,5GB; empty means Options.Quota
//
// The first row is a header when one of its cells names a column (in English or Vietnamese, with or without
// diacritics, in any case); the columns may then come in any order, and "STT" (row number) and "ghi chú" (notes)
// columns are ignored. Without a header the columns are, in order, full name, unit, address, quota. Blank rows
// are skipped. An address cell holds a full address (annv@vinhyen.gov.vn), a local part (annv, in Options.Domain),
// "@domain" (generate one in that domain) or nothing (generate one in Options.Domain).
//
// Every problem is reported at once, each naming its line and column ("line 7, column unit: unit vinhyen/xyz
// does not exist ..."), and Apply refuses a plan that has any: fix the file and run it again.
//
// # Generated addresses
//
// A missing address is made from the full name by a NameRule. Names are read in Vietnamese order — family name
// first, given name last, middle names between — and folded to lower-case ASCII: diacritics are removed (in NFC
// or NFD input alike), đ and Đ become d, and characters other than letters and digits are left out. The default
// style, given-initials, is the given name in full followed by the initials of the family and middle names:
//
//	Nguyễn Văn An        → annv
//	Trần Thị Bích Ngọc   → ngocttb
//	Đỗ Đức Đạt           → datdd
//	Lê Hoa               → hoal     (no middle name: the family initial only)
//	Lê A                 → al
//	Hương                → huong    (one word: the word alone)
//
// Other styles (Style): given.initials (an.nv), given.family (an.nguyenvan) and full (nguyenvanan). A second
// person whose address would be the same gets the next free number, starting at NameRule.FirstNumber (default 2):
// annv, annv2, annv3. An address is taken when an account, alias or group has it, or when an earlier row of the
// same file was given it; explicit addresses in the file are reserved before any address is generated, so a
// generated address never takes one that a later row asks for.
//
// # Running a file again
//
// A row whose account already exists as the file describes it is skipped, so running the same file twice changes
// nothing. With an address, the row is that account; if the account's unit, name or quota differ from what the
// row states, the row is a conflict, reported and never changed. A row states the quota in its cell or, when the
// cell is empty, through Options.Quota (the --quota flag), which an account made from it would get; with neither,
// the quota is not compared. Without an address, the row is an existing
// account with the same name (compared without regard to case or spacing) in the same unit and domain, each
// account matched by one row at most; so a file listing two people called Nguyễn Văn An in one unit creates annv
// and annv2 once. A row that states a quota is matched first to such an account with that quota, so namesakes in
// one unit are told apart by their quotas whatever the order of the rows; otherwise accounts are matched in
// address order. The quota is then compared as for a row with an address, and a difference is a conflict too. A person of the same name in another unit is taken to be someone else and gets a new address;
// the plan lists such namesakes (NewAccount.Namesakes) so that the administrator can check, and a row that gives
// the address explicitly says exactly which account it means.
package provision
