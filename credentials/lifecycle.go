package credentials

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/vault"
)

// Maintenance checks and repairs credentials across their services:
// Reconcile finds rows whose item is gone and creates whose answer was
// lost, Migrate moves credentials to the organization's current service.
// It shares its Service's storage and vault.
type Maintenance struct{ s *Service }

// Maintenance returns the Service's maintenance operations.
func (s *Service) Maintenance() *Maintenance { return &Maintenance{s} }

// ActionMigrate is the audit action of a credential moved to the current
// service.
const ActionMigrate = "credential.migrate"

// scanPage is how many rows a walk over every credential reads at a time.
const scanPage = 200

// lostAfter is how old an unsettled create must be before reconcile
// reports it: younger ones may still be waiting for their answer.
const lostAfter = 5 * time.Minute

// Progress is told how many rows are done out of total.
type Progress func(done, total int)

// ReconcileOptions tune Reconcile.
type ReconcileOptions struct {
	// OrganizationID limits the check to one organization ("" = all).
	OrganizationID string
	// Fix marks rows whose item is gone (the API then says so on read)
	// and clears the mark of rows whose item is back. Nothing is deleted.
	Fix bool
	// Concurrency bounds the reads in flight (default 8).
	Concurrency int
	// Rate bounds the reads per second, over all services (default 50).
	Rate float64
	// Progress, when set, is told after every row.
	Progress Progress
}

// RowIssue is a credential row reconcile reports. It holds ids only.
type RowIssue struct {
	OrganizationID string `json:"organization_id"`
	CredentialID   string `json:"credential_id"`
	ItemID         string `json:"item_id"`
	StoredBy       string `json:"stored_by"`
	// Current is the organization's current configuration (stale rows).
	Current string `json:"current,omitempty"`
	// Marked says the row is marked missing (after --fix, or before).
	Marked bool   `json:"marked,omitempty"`
	Error  string `json:"error,omitempty"`
	// Transient says a failed check may pass when run again (the service
	// or the database could not be reached for now, or answered 5xx);
	// otherwise the error says what to change.
	Transient bool `json:"transient,omitempty"`
}

// LostCreate is a create whose outcome is unknown: the service may hold an
// item (under the idempotency key) that no row points to.
type LostCreate struct {
	IdempotencyKey string    `json:"idempotency_key"`
	OrganizationID string    `json:"organization_id"`
	CredentialID   string    `json:"credential_id"`
	Operation      string    `json:"operation"`
	State          string    `json:"state"`
	StoredThrough  string    `json:"stored_through"`
	LastError      string    `json:"last_error"`
	CreatedAt      time.Time `json:"created_at"`
	// AgeSeconds is how long ago the create was sent.
	AgeSeconds int64 `json:"age_seconds"`
	// Recovered says --fix found the item (the service honours the key)
	// and recorded its deletion.
	Recovered bool `json:"recovered"`
	// Note says why a lost create could not be recovered.
	Note string `json:"note,omitempty"`
}

// ReconcileReport is what Reconcile found.
type ReconcileReport struct {
	Checked int `json:"checked"`
	OK      int `json:"ok"`
	// Dangling rows point to an item the service that stored it no longer
	// has.
	Dangling []RowIssue `json:"dangling"`
	// Stale rows were stored by a configuration that is not the
	// organization's current one (`credentials migrate` moves them).
	Stale []RowIssue `json:"stale"`
	// Unreachable rows were stored by a configuration that can no longer
	// be used (purged, or its token no longer decrypts).
	Unreachable []RowIssue `json:"unreachable"`
	// Failed rows could not be checked (the service failed or timed out).
	Failed []RowIssue `json:"failed"`
	// LostCreates are creates whose answer never came. With Fix, those
	// sent to a service that honours Idempotency-Key are recovered: the
	// create is replayed under the same key, and the item it answers with
	// (the one stored then) is deleted through the outbox.
	LostCreates []LostCreate `json:"lost_creates"`
	Recovered   int          `json:"recovered"`
	// InFlight are creates younger than five minutes still unsettled:
	// waiting for their answer, or left by a process that stopped, which a
	// worker recovers once their lease ends.
	InFlight []LostCreate `json:"in_flight"`
	// Marked and Cleared count the rows --fix marked missing or found
	// back.
	Marked  int `json:"marked"`
	Cleared int `json:"cleared"`
}

// Clean reports whether nothing needs attention: no dangling, stale,
// unreachable or failed row, and every lost create recovered. Creates in
// flight do not count: a worker recovers them once their lease ends.
func (r ReconcileReport) Clean() bool {
	return len(r.Dangling) == 0 && len(r.Stale) == 0 && len(r.Unreachable) == 0 && len(r.Failed) == 0 && r.Recovered == len(r.LostCreates)
}

// currentSources caches, for one walk, each organization's current
// configuration.
type currentSources struct {
	v  vault.SourcedVault
	mu sync.Mutex
	m  map[string]string
}

func (c *currentSources) get(ctx context.Context, orgID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if src, ok := c.m[orgID]; ok {
		return src
	}
	src, _ := c.v.CurrentSource(ctx, orgID) // "" when not configured
	c.m[orgID] = src
	return src
}

// walk calls fn for every live row of orgID ("" = all), with at most
// concurrency calls at once, each after the limiter allows it.
func (s *Service) walk(ctx context.Context, orgID string, concurrency int, lim *rate.Limiter, fn func(context.Context, store.Credential)) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	after := ""
	for {
		rows, err := s.store.ScanCredentials(gctx, orgID, after, scanPage)
		if err != nil {
			_ = g.Wait()
			return err
		}
		for _, r := range rows {
			if err := lim.Wait(gctx); err != nil {
				_ = g.Wait()
				return ctx.Err()
			}
			g.Go(func() error { fn(gctx, r); return nil })
		}
		if len(rows) < scanPage {
			break
		}
		after = rows[len(rows)-1].ID
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// Reconcile reads every row's item through the configuration that stored
// it and reports rows whose item is gone, rows stored by a configuration
// that is not current, and creates whose answer was lost. With Fix it
// marks the gone ones; it never deletes.
func (m *Maintenance) Reconcile(ctx context.Context, o ReconcileOptions) (ReconcileReport, error) {
	s := m.s
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Rate <= 0 {
		o.Rate = 50
	}
	rep := ReconcileReport{Dangling: []RowIssue{}, Stale: []RowIssue{}, Unreachable: []RowIssue{}, Failed: []RowIssue{}, LostCreates: []LostCreate{}, InFlight: []LostCreate{}}
	total, err := s.store.CountCredentials(ctx, o.OrganizationID)
	if err != nil {
		return rep, err
	}
	cur := &currentSources{v: s.vault, m: map[string]string{}}
	var mu sync.Mutex
	err = s.walk(ctx, o.OrganizationID, o.Concurrency, rate.NewLimiter(rate.Limit(o.Rate), 1), func(ctx context.Context, r store.Credential) {
		current := cur.get(ctx, r.OrganizationID)
		c := m.checkRow(ctx, r, o.Fix)
		mu.Lock()
		defer mu.Unlock()
		rep.add(c, current)
		if o.Progress != nil {
			o.Progress(rep.Checked, int(total))
		}
	})
	if err != nil {
		return rep, err
	}
	return rep, m.reconcileCreates(ctx, &rep, o)
}

// rowCheck is what reconcile found of one row: the item read through the
// configuration that stored it (err), and, with fix, whether the row was
// marked missing or cleared.
type rowCheck struct {
	row             store.Credential
	err             error
	marked, cleared bool
}

// checkRow reads r's item and, with fix, marks the row missing or clears
// the mark to match.
func (m *Maintenance) checkRow(ctx context.Context, r store.Credential, fix bool) rowCheck {
	s := m.s
	c := rowCheck{row: r}
	_, c.err = s.vault.Get(ctx, r.OrganizationID, refOf(r))
	switch {
	case !fix:
	case errors.Is(c.err, vault.ErrItemGone) && r.ItemMissingAt == nil:
		now := s.store.Now()
		c.marked, c.err = s.setMissing(ctx, r, &now)
	case c.err == nil && r.ItemMissingAt != nil:
		c.cleared, c.err = s.setMissing(ctx, r, nil)
	}
	return c
}

// add counts c in rep; current is the organization's current
// configuration ("" when none).
func (rep *ReconcileReport) add(c rowCheck, current string) {
	r := c.row
	issue := RowIssue{OrganizationID: r.OrganizationID, CredentialID: r.ID, ItemID: r.ItemID, StoredBy: r.VaultSource,
		Marked: r.ItemMissingAt != nil || c.marked}
	rep.Checked++
	if c.marked {
		rep.Marked++
	}
	if c.cleared {
		rep.Cleared++
	}
	switch err := c.err; {
	case err == nil:
		rep.OK++
	case errors.Is(err, vault.ErrItemGone):
		rep.Dangling = append(rep.Dangling, issue)
	case errors.Is(err, vault.ErrSourceUnavailable):
		issue.Error = err.Error()
		rep.Unreachable = append(rep.Unreachable, issue)
	default:
		issue.Error, issue.Transient = err.Error(), transient(err)
		rep.Failed = append(rep.Failed, issue)
	}
	if current != "" && r.VaultSource != current {
		stale := issue
		stale.Current, stale.Error = current, ""
		rep.Stale = append(rep.Stale, stale)
	}
}

// reconcileCreates reports the creates whose answer never came: young
// ones as in flight, older ones as lost, recovered with o.Fix.
func (m *Maintenance) reconcileCreates(ctx context.Context, rep *ReconcileReport, o ReconcileOptions) error {
	s := m.s
	now := s.store.Now()
	creates, err := s.store.ListCreates(ctx, o.OrganizationID, now.Add(time.Second), 10_000)
	if err != nil {
		return err
	}
	for _, a := range creates {
		lc := LostCreate{IdempotencyKey: a.ID, OrganizationID: a.OrganizationID, CredentialID: a.CredentialID,
			Operation: a.Operation, State: a.State, StoredThrough: a.VaultSource, LastError: a.LastError, CreatedAt: a.CreatedAt.UTC(),
			AgeSeconds: int64(now.Sub(a.CreatedAt).Seconds())}
		if a.CreatedAt.After(now.Add(-lostAfter)) {
			// Young: still waiting for its answer, or about to be
			// recovered by a worker once its lease ends.
			rep.InFlight = append(rep.InFlight, lc)
			continue
		}
		if o.Fix {
			// Older than any create may take: this operator takes it over.
			until := now.Add(s.createLease)
			a.Owner, a.LeaseUntil = s.owner, &until
			if err := s.store.RecordCreate(ctx, a); err != nil {
				lc.Note = err.Error()
			} else if lc.Recovered, lc.Note = s.recoverCreate(ctx, a); lc.Recovered {
				rep.Recovered++
			}
		}
		rep.LostCreates = append(rep.LostCreates, lc)
	}
	return nil
}

// RecoverCreates takes over the creates whose lease ran out — their
// process stopped mid-create, or their answer was lost — and recovers
// each (recoverCreate). The outbox worker runs it every tick, so a crash
// leaves no orphan once the leases end. It reports how many it took.
func (m *Maintenance) RecoverCreates(ctx context.Context) int {
	s := m.s
	as, err := s.store.ClaimCreates(ctx, s.owner, outboxBatch, s.createLease)
	if err != nil {
		if ctx.Err() == nil {
			s.log.WarnContext(ctx, "could not claim expired creates", slog.String("error", err.Error()))
		}
		return 0
	}
	for _, a := range as {
		ok, note := s.recoverCreate(ctx, a)
		attrs := []any{slog.String("organization_id", a.OrganizationID), slog.String("credential_id", a.CredentialID),
			slog.String("idempotency_key", a.ID), slog.String("operation", a.Operation), slog.String("stored_through", a.VaultSource)}
		if ok {
			s.log.InfoContext(ctx, "recovered a create whose answer was lost or whose process stopped; any item it stored is deleted unless a credential points to it", attrs...)
		} else {
			s.log.WarnContext(ctx, "could not recover a create whose answer was lost", append(attrs, slog.String("note", note))...)
		}
	}
	return len(as)
}

// recoverCreate finds the item a lost create may have stored: the create
// is replayed under its key with a placeholder through the configuration
// it was sent through. A service that honours the key answers with the
// item it stored then (or stores the placeholder if it stored nothing);
// that item's deletion is recorded and the create settled. An item a live
// row points to (the create finished after all) is kept. A service that
// ignores the key stores the placeholder, which is deleted; the lost item
// cannot be found by credvault and the create stays reported.
func (s *Service) recoverCreate(ctx context.Context, a store.CreateAttempt) (bool, string) {
	if a.VaultSource == "" {
		return false, "the configuration it was sent through is not recorded"
	}
	ref, honoured, err := s.vault.ReplayCreate(ctx, a.OrganizationID, a.VaultSource, a.ID)
	if err != nil {
		return false, "replaying the create failed: " + err.Error()
	}
	referenced, err := s.store.ItemReferenced(ctx, a.OrganizationID, ref.Source, ref.ID)
	if err != nil {
		return false, err.Error()
	}
	d := s.outbox.deletion(a.OrganizationID, ref, "recovered from a lost create")
	d.CreateKey = a.ID
	const ignored = "the service does not honour Idempotency-Key, so the item this create may have stored cannot be found by credvault; " +
		"look for it in the service (created at the time shown)"
	err = s.store.Tx(ctx, func(tx Storage) error {
		if !referenced {
			if err := tx.EnqueueDeletion(ctx, d); err != nil {
				return err
			}
		}
		if honoured {
			return tx.SettleCreate(ctx, a.ID, s.owner)
		}
		return tx.MarkCreateUnrecoverable(ctx, a.ID, ignored)
	})
	if err != nil {
		return false, err.Error()
	}
	if !referenced {
		s.outbox.attempt(context.WithoutCancel(ctx), d)
	}
	if !honoured {
		return false, ignored
	}
	return true, ""
}

func (s *Service) setMissing(ctx context.Context, r store.Credential, at *time.Time) (bool, error) {
	changed, err := s.store.SetItemMissing(ctx, r.OrganizationID, r.ID, r.ItemID, at)
	s.rows.drop(r.OrganizationID, r.ID)
	if err != nil {
		return false, err
	}
	if at == nil {
		// Found back: the read succeeded, so the row is fine.
		return changed, nil
	}
	// Marked: the read's not-found stands.
	return changed, vault.ErrItemGone
}

// MigrateOptions tune Migrate.
type MigrateOptions struct {
	// DryRun lists what would move and moves nothing.
	DryRun bool
	// Limit bounds how many credentials one call moves (0 = all); the
	// report's Remaining says how many are left.
	Limit int
	// From names the storing configurations whose items this call may
	// move: ids the caller proved it controls (org.Configs.ProveSources).
	// Items stored elsewhere stay where they are and are counted in the
	// report's Skipped.
	From map[string]bool
	// AllSources moves from every storing configuration, the operator's
	// env-configured service included: for the operator's command line
	// only, never for an API key.
	AllSources bool
	// Progress, when set, is told after every credential.
	Progress Progress
}

// MigrateFailure is a credential that could not be moved; it is left as
// it was.
type MigrateFailure struct {
	CredentialID string `json:"credential_id"`
	StoredBy     string `json:"stored_by"`
	Error        string `json:"error"`
}

// MigrateReport is what Migrate did (or, dry, would do).
type MigrateReport struct {
	OrganizationID string `json:"organization_id"`
	// Current is the configuration credentials move to.
	Current string `json:"current"`
	DryRun  bool   `json:"dry_run"`
	// ToMove is how many credentials were stored elsewhere when the call
	// began.
	ToMove int `json:"to_move"`
	// BySource counts them per storing configuration.
	BySource map[string]int `json:"by_source"`
	// Skipped counts, per storing configuration, the credentials this
	// call may not move: their source was not proven (MigrateOptions.From).
	Skipped  map[string]int   `json:"skipped"`
	Migrated int              `json:"migrated"`
	Failed   []MigrateFailure `json:"failed"`
	// Remaining is how many are still stored elsewhere (failures and
	// those beyond Limit).
	Remaining int `json:"remaining"`
}

// Migrate moves every credential of orgID stored by an earlier
// configuration (or the env service) to the current one: each item is
// read through the configuration that stored it, created in the current
// service (Idempotency-Key "<credential id>/m<version>", so a run
// interrupted after the create and resumed stores one item), the row is
// re-pointed in its own transaction, and the old item's deletion goes
// through the outbox. A failure is listed and leaves that credential as it
// was; running Migrate again resumes.
func (m *Maintenance) Migrate(ctx context.Context, orgID string, o MigrateOptions) (MigrateReport, error) {
	s := m.s
	rep := MigrateReport{OrganizationID: orgID, DryRun: o.DryRun, BySource: map[string]int{}, Skipped: map[string]int{}, Failed: []MigrateFailure{}}
	if !o.DryRun && !o.AllSources && len(o.From) == 0 {
		return rep, problem.Invalid("sources", "is required: name each configuration to move from, with the URL and the full token it was saved with")
	}
	current, err := s.vault.CurrentSource(ctx, orgID)
	if err != nil {
		return rep, err
	}
	rep.Current = current
	mv := migration{m: m, orgID: orgID, current: current, opts: o,
		// A dry run naming no source counts everything stored elsewhere:
		// what there is to move, once its sources are proven.
		all: o.AllSources || (o.DryRun && len(o.From) == 0)}
	// First pass: count what is to move (the walk holds one page at a
	// time, however many credentials the organization has).
	if err := mv.scan(ctx, func(r store.Credential) bool { mv.count(&rep, r); return true }); err != nil {
		return rep, err
	}
	rep.Remaining = rep.ToMove
	if o.DryRun || rep.ToMove == 0 {
		return rep, nil
	}
	return rep, mv.move(ctx, &rep)
}

// migration is one run of Migrate over an organization's credentials.
type migration struct {
	m       *Maintenance
	orgID   string
	current string
	opts    MigrateOptions
	all     bool
}

// movable says whether r is to move in this run.
func (mv *migration) movable(r store.Credential) bool { return mv.all || mv.opts.From[r.VaultSource] }

// scan calls each for every credential stored elsewhere than the current
// configuration, a page at a time, until each returns false.
func (mv *migration) scan(ctx context.Context, each func(store.Credential) bool) error {
	after := ""
	for {
		rows, err := mv.m.s.store.ScanCredentials(ctx, mv.orgID, after, scanPage)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.VaultSource != mv.current && !each(r) {
				return nil
			}
		}
		if len(rows) < scanPage {
			return nil
		}
		after = rows[len(rows)-1].ID
	}
}

// count adds r to the first pass's figures.
func (mv *migration) count(rep *MigrateReport, r store.Credential) {
	rep.BySource[r.VaultSource]++
	if mv.movable(r) {
		rep.ToMove++
	} else {
		rep.Skipped[r.VaultSource]++
	}
}

// move is the second pass: the movable credentials, page by page, up to
// the limit. A database outage or the end of ctx stops it; any other
// failure is reported and the run goes on.
func (mv *migration) move(ctx context.Context, rep *MigrateReport) error {
	total := rep.ToMove
	if mv.opts.Limit > 0 && mv.opts.Limit < total {
		total = mv.opts.Limit
	}
	done := 0
	var stop error
	err := mv.scan(ctx, func(r store.Credential) bool {
		if !mv.movable(r) {
			return true
		}
		if done == total {
			return false
		}
		if stop = ctx.Err(); stop != nil {
			return false
		}
		if err := mv.m.s.migrateOne(ctx, r); errors.Is(err, store.ErrUnavailable) {
			stop = err
			return false
		} else if err != nil {
			rep.Failed = append(rep.Failed, MigrateFailure{CredentialID: r.ID, StoredBy: r.VaultSource, Error: err.Error()})
			mv.m.s.log.WarnContext(ctx, "could not migrate a credential; it stays where it is", slog.String("organization_id", mv.orgID),
				slog.String("credential_id", r.ID), slog.String("stored_by", r.VaultSource), slog.String("error", err.Error()))
		} else {
			rep.Migrated++
			rep.Remaining--
		}
		done++
		if mv.opts.Progress != nil {
			mv.opts.Progress(done, total)
		}
		return true
	})
	if stop != nil {
		return stop
	}
	return err
}

// migrateOne moves one row's item to the current service.
func (s *Service) migrateOne(ctx context.Context, r store.Credential) error {
	dest, err := s.vault.CurrentSource(ctx, r.OrganizationID)
	if err != nil {
		return err
	}
	c, err := s.vault.Get(ctx, r.OrganizationID, refOf(r))
	if err != nil {
		return err
	}
	if string(c.Type) != r.CredentialType {
		return &vault.ContractError{Op: "get", Problem: fmt.Sprintf("the service returned a %s credential for a %s item", c.Type, r.CredentialType)}
	}
	c.Name = r.Name
	if c.Password != nil {
		c.Password.TOTPIdentifier = r.TOTPIdentifier
	}
	ref, key, err := s.createItem(ctx, target{orgID: r.OrganizationID, credID: r.ID, base: fmt.Sprintf("%s/m%d", r.ID, r.Version), op: "migrate",
		src: dest, version: r.Version}, c)
	if err != nil {
		return err
	}
	row := r
	row.ItemID, row.VaultSource, row.ItemMissingAt = ref.ID, ref.Source, nil
	oldItem := s.outbox.deletion(r.OrganizationID, refOf(r), "moved to the current configuration")
	err = s.audited(ctx, r.OrganizationID, ActionMigrate, r.ID, func(tx Storage) error {
		if _, err := tx.UpdateCredential(ctx, row, r.Version); err != nil {
			return err
		}
		if err := tx.SettleCreate(ctx, key, s.owner); err != nil {
			return err
		}
		return tx.EnqueueDeletion(ctx, oldItem)
	})
	s.rows.drop(r.OrganizationID, r.ID)
	if err != nil {
		s.cleanup(ctx, r.OrganizationID, ref, key, "credential row re-point failed", err)
		return err
	}
	s.outbox.attempt(context.WithoutCancel(ctx), oldItem)
	return nil
}

// transient reports a failure that running again may cure: a service or
// database that could not be reached for now, or a service's 5xx answer.
func transient(err error) bool {
	var ue *vault.UpstreamError
	return vault.Unreachable(err) || errors.Is(err, problem.ErrUnavailable) ||
		(errors.As(err, &ue) && ue.StatusCode >= 500)
}
