package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"mailserver/internal/admin"
	"mailserver/internal/config"
	"mailserver/internal/ctl"
	"mailserver/internal/provision"
	"mailserver/internal/store"
)

// importFlags are the flags of 'user import'.
type importFlags struct {
	dryRun   bool
	out      string // the credentials file
	domain   string
	nameRule string
	quota    string
}

func newUserImportCmd(a *app) *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "import FILE.csv (--out FILE | --dry-run)",
		Short: "Create many users at once from a staff list (CSV); initial passwords go to --out only",
		Long: `Create the accounts of a staff list: one row per person with full name, unit, and optionally address
and quota. Rows without an address get one made from the name. Every account gets a random initial password,
written only to the --out file (created with mode 0600, never overwritten): hand the passwords out, then delete
the file. Nothing is printed that would reveal one.

The file is UTF-8 (with or without a byte-order mark: Excel's "CSV UTF-8"), separated by commas, semicolons or
tabs. The first row may be a header, in English or Vietnamese, in any column order:
  full name   "họ và tên", "họ tên", "name"        required, e.g. Nguyễn Văn An
  unit        "đơn vị", "đơn vị công tác"          required, an existing unit path (see 'mailserver unit list')
  address     "địa chỉ", "email", "địa chỉ email"  optional: annv@vinhyen.gov.vn, annv, @domain, or empty
  quota       "dung lượng", "hạn mức"              optional, e.g. 2GB or 1,5GB; empty means --quota
"STT" and "ghi chú" columns are ignored. Without a header the columns are full name, unit, address, quota.

Missing addresses are made by --name-rule from the name read in Vietnamese order (family, middle, given),
without diacritics (đ becomes d), in --domain:
  given-initials (default)  Nguyễn Văn An → annv     Trần Thị Bích Ngọc → ngocttb
  given.initials            Nguyễn Văn An → an.nv
  given.family              Nguyễn Văn An → an.nguyenvan
  full                      Nguyễn Văn An → nguyenvanan
A second person whose address would be the same gets the next free number: annv, annv2, annv3. Addresses of
accounts, aliases and groups, and those the file gives explicitly, are never taken.

Nothing is created while any row has a problem: every problem is listed on standard output with its line and
column, the first one on standard error, and the command exits with 1. --dry-run shows the plan (each account to
create with its address, the existing ones counted, the problems) and changes nothing. Running the same file
again creates nothing: a row whose account exists as the file describes it is skipped, and one that names an
existing account with other data (unit, name, or quota: its own, or --quota for a row without one) is reported
as a conflict and never changed, whether the row gives the address or it is found by name and unit. If creating
stops half way, the passwords of the accounts created so far are still written to --out; run the import again,
with another --out, to create the rest.

--domain defaults to the only domain when there is just one.`,
		Example: `  mailserver user import nhan-su.csv --dry-run
  mailserver user import nhan-su.csv --out mat-khau-ban-dau.csv
  mailserver user import phuong-1.csv --domain vinhyen.gov.vn --name-rule given.initials --quota 2GB --out mk.csv

  # nhan-su.csv, as Excel saves it in a Vietnamese locale:
  STT;Họ và tên;Đơn vị;Địa chỉ;Dung lượng
  1;Nguyễn Văn An;vinhyen/ubnd/phong-noi-vu;;
  2;Trần Thị Bích Ngọc;vinhyen/ubnd/phong-noi-vu;;2GB
  3;Lê Hoa;vinhyen/phuong-1;hoa.le@vinhyen.gov.vn;1,5GB`,
		Args: args("FILE.csv"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !f.dryRun && f.out == "" { // a usage error: the command line lacks what the run needs
				return errors.New("--out FILE is required: the initial passwords are written there and nowhere else; --dry-run only shows the plan")
			}
			return runE(func(cmd *cobra.Command, args []string) error {
				return a.importUsers(cmd.OutOrStdout(), args[0], f)
			})(cmd, args)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.dryRun, "dry-run", false, "show what would be created and change nothing")
	fl.StringVar(&f.out, "out", "", "write the initial passwords to `FILE` (created with mode 0600; must not exist)")
	fl.StringVar(&f.domain, "domain", "", "`DOMAIN` of rows without an address or with a bare name (default: the only domain)")
	fl.StringVar(&f.nameRule, "name-rule", string(provision.StyleGivenInitials),
		"how missing addresses are made: given-initials, given.initials, given.family or full")
	fl.StringVar(&f.quota, "quota", "", "quota `SIZE` of rows without one, e.g. 2GB (default unlimited)")
	return cmd
}

// importUsers plans the import of the file at path and, unless it is a dry run, carries it out.
func (a *app) importUsers(w io.Writer, path string, f importFlags) error {
	opts, err := f.planOptions()
	if err != nil {
		return err
	}
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	return a.withAdmin(func(api ctl.Backend) error {
		dir, err := readDirectory(api)
		if err != nil {
			return err
		}
		if opts.Domain, err = importDomain(f.domain, dir.Domains); err != nil {
			return err
		}
		plan, err := provision.Plan(file, dir, opts)
		if plan == nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		writePlan(w, path, plan, opts.Rule)
		switch {
		case err != nil:
			return planProblems(path, err)
		case len(plan.Create) == 0 && len(plan.Existing) == 0:
			fmt.Fprintf(w, "%s lists nobody: nothing to do\n", path)
			return nil
		case len(plan.Create) == 0:
			fmt.Fprintf(w, "nothing to create: every account in %s already exists; nothing was changed\n", path)
			return nil
		case f.dryRun:
			fmt.Fprintln(w, "dry run: nothing was changed; run without --dry-run, with --out FILE, to create the accounts")
			return nil
		}
		return applyPlan(w, api, plan, f.out)
	})
}

// planOptions reads the flags that tune the plan; the domain is settled once the directory is read.
func (f importFlags) planOptions() (provision.Options, error) {
	var opts provision.Options
	rule, err := provision.ParseNameRule(f.nameRule)
	if err != nil {
		return opts, fmt.Errorf("--name-rule: %w", err)
	}
	opts.Rule = rule
	if f.quota != "" {
		q, err := config.ParseSize(f.quota)
		if err != nil {
			return opts, fmt.Errorf("--quota: %w", err)
		}
		opts.Quota = int64(q)
	}
	return opts, nil
}

// readDirectory takes the snapshot the plan is checked against from the administration listing operations, so that
// an import plans the same on the store file and through a running server's control socket.
func readDirectory(api ctl.Backend) (provision.Directory, error) {
	var d provision.Directory
	users, err := ctl.Call(api, ctl.UserList, ctl.None{})
	if err != nil {
		return d, err
	}
	for _, u := range users {
		d.Accounts = append(d.Accounts, store.Account{Address: u.Address, Name: u.Name, Unit: u.Unit, Quota: u.Quota,
			Shared: u.Shared})
	}
	units, err := ctl.Call(api, ctl.UnitList, ctl.None{})
	if err != nil {
		return d, err
	}
	for _, u := range units {
		d.Units = append(d.Units, u.Path)
	}
	aliases, err := ctl.Call(api, ctl.AliasList, ctl.None{})
	if err != nil {
		return d, err
	}
	for _, al := range aliases {
		d.Aliases = append(d.Aliases, al.Address)
	}
	groups, err := ctl.Call(api, ctl.GroupList, ctl.None{})
	if err != nil {
		return d, err
	}
	for _, g := range groups {
		d.Groups = append(d.Groups, g.Address)
	}
	domains, err := ctl.Call(api, ctl.DomainList, ctl.None{})
	if err != nil {
		return d, err
	}
	d.Domains = []string{} // not nil: addresses in other domains are errors of the plan
	for _, dom := range domains {
		d.Domains = append(d.Domains, dom.Name)
	}
	return d, nil
}

// importDomain settles the domain of rows without one: --domain if given (it must exist), else the only domain.
func importDomain(flag string, domains []string) (string, error) {
	if flag != "" {
		d := displayDomain(flag)
		if !slices.Contains(domains, d) {
			return "", fmt.Errorf("--domain: domain %s does not exist: add it with 'mailserver domain add %s'", d, d)
		}
		return d, nil
	}
	switch len(domains) {
	case 0:
		return "", errors.New("no domain exists yet: add one with 'mailserver domain add DOMAIN' first")
	case 1:
		return domains[0], nil
	}
	return "", fmt.Errorf("there are %d domains (%s): choose the one for the new addresses with --domain",
		len(domains), strings.Join(domains, ", "))
}

// writePlan shows what an import would do: a count of everything, a line per account to create, the rows worth a
// second look, and every problem with its line and column.
func writePlan(w io.Writer, path string, p *provision.ImportPlan, rule provision.NameRule) {
	fmt.Fprintf(w, "%s: %s\n", path, p.Summary())
	if len(p.Create) > 0 {
		if slices.ContainsFunc(p.Create, func(na provision.NewAccount) bool { return na.Generated }) {
			fmt.Fprintf(w, "to create (missing addresses by the name rule %s):\n", rule)
		} else {
			fmt.Fprintln(w, "to create:")
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  LINE\tADDRESS\tNAME\tUNIT\tQUOTA")
		for _, na := range p.Create {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", na.Line, na.Address, cleanCell(na.Name), na.Unit, quotaText(na.Quota))
		}
		tw.Flush()
	}
	var notes []string
	for _, na := range p.Create {
		if na.DuplicateOf > 0 {
			notes = append(notes, fmt.Sprintf("line %d: same name and unit as line %d: two people, or a row written twice?",
				na.Line, na.DuplicateOf))
		}
		if len(na.Namesakes) > 0 {
			notes = append(notes, fmt.Sprintf("line %d: %s has the same name as existing %s: check that this is someone else",
				na.Line, cleanCell(na.Name), strings.Join(na.Namesakes, ", ")))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "check:")
		for _, n := range notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	if err := p.Err(); err != nil {
		fmt.Fprintln(w, "problems (nothing is created until they are fixed):")
		for line := range strings.Lines(err.Error()) {
			fmt.Fprintf(w, "  %s\n", strings.TrimRight(line, "\n"))
		}
	}
}

// planProblems is the one-line failure of a plan with problems: the first of them, and how many there are.
func planProblems(path string, err error) error {
	problems := strings.Split(err.Error(), "\n")
	if len(problems) == 1 {
		return fmt.Errorf("%s: %s; nothing was created", path, problems[0])
	}
	return fmt.Errorf("%s: %s; %d problems in all, listed on standard output; nothing was created",
		path, problems[0], len(problems))
}

// userAdder runs provision's account creations as user.add operations on a backend.
type userAdder struct{ api ctl.Backend }

func (u userAdder) AddUser(req admin.AddUserRequest) (admin.UserInfo, error) {
	return ctl.Call(u.api, ctl.UserAdd, req)
}

// applyPlan creates the planned accounts and writes their initial passwords to the credentials file at out,
// which is made first so that a bad path fails before any account exists. The passwords of the accounts created
// are written even if creating the others fails.
func applyPlan(w io.Writer, api ctl.Backend, plan *provision.ImportPlan, out string) error {
	f, err := provision.CreateCredentialsFile(out)
	if err != nil {
		return err
	}
	res, applyErr := provision.Apply(plan, userAdder{api}, nil)
	if applyErr != nil && len(res.Created) == 0 {
		f.Close()
		os.Remove(out) // nothing to hand out: the same --out can be used again
		return fmt.Errorf("%w; nothing was created", applyErr)
	}
	writeErr := provision.WriteCredentials(f, res)
	if err := f.Close(); writeErr == nil && err != nil {
		writeErr = fmt.Errorf("write credentials: %w", err)
	}
	created := fmt.Sprintf("created %d account(s)", len(res.Created))
	if applyErr != nil {
		created = fmt.Sprintf("created %d of %d account(s)", len(res.Created), len(plan.Create))
	}
	if writeErr != nil {
		return fmt.Errorf("%s, but their initial passwords could not be written to %s (%v): set new ones with 'mailserver user passwd ADDRESS'",
			created, out, writeErr)
	}
	fmt.Fprintf(w, "%s; their initial passwords are in %s (readable by you only): hand them out, then delete the file\n",
		created, out)
	if applyErr != nil {
		return fmt.Errorf("%w; the passwords of the %d account(s) created are in %s: run the import again, with another --out, to create the rest",
			applyErr, len(res.Created), out)
	}
	return nil
}
