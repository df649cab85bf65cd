package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/credentials"
)

// progressBar draws "[=====     ] done/total what" on w when w is a
// terminal, and nothing otherwise (a log file or a pipe gets only the
// report).
func progressBar(w io.Writer, what string) (credentials.Progress, func()) {
	f, ok := w.(*os.File)
	if !ok || !(isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return nil, func() {}
	}
	var mu sync.Mutex
	drawn := false
	return func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			const width = 30
			filled := width
			if total > 0 {
				filled = min(width, done*width/total)
			}
			fmt.Fprintf(f, "\r[%s%s] %d/%d %s", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, total, what)
			drawn = true
		}, func() {
			mu.Lock()
			defer mu.Unlock()
			if drawn {
				fmt.Fprintln(f)
			}
		}
}

func reconcileCmd(out output, stderr io.Writer) *cobra.Command {
	var o credentials.ReconcileOptions
	cmd := &cobra.Command{
		Use:   "reconcile",
		Short: "Check that every credential's item exists in the service that stored it",
		Long: "Reads every credential's item through the configuration that stored it (bounded concurrency,\n" +
			"rate-limited) and reports, as JSON: rows whose item is gone (dangling), rows stored by a configuration\n" +
			"that is not current (stale; `credvault credentials migrate` moves them), rows whose configuration can no\n" +
			"longer be used (unreachable), rows that could not be checked (failed), and creates whose answer was lost\n" +
			"(the service may hold an item no row points to, under the idempotency key shown).\n" +
			"--fix marks dangling rows (the API then says so on read) and clears the mark of rows found back; it never\n" +
			"deletes a row. It also recovers lost creates from a service that honours Idempotency-Key: the create is\n" +
			"replayed under its key with a placeholder, and the item the service answers with is deleted. Exit 0 when nothing needs attention, 1 when the report lists something, 2 on usage errors.",
		Example: "  credvault reconcile\n  credvault reconcile --org org_0190... --fix",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Concurrency < 1 || o.Concurrency > 64 {
				return usageError{"--concurrency must be between 1 and 64"}
			}
			if o.Rate <= 0 {
				return usageError{"--rate must be more than 0"}
			}
			return withPlatform(stderr, func(ctx context.Context, p *credvault.Platform) error {
				if o.OrganizationID != "" {
					if err := p.Organizations.Exists(ctx, o.OrganizationID); err != nil {
						return err
					}
				}
				progress, done := progressBar(stderr, "credentials checked")
				o.Progress = progress
				rep, err := p.Maintenance.Reconcile(ctx, o)
				done()
				if err != nil {
					return err
				}
				if err := out.print(rep, func(w io.Writer) { reconcileText(w, rep, o.Fix) }); err != nil {
					return err
				}
				if !rep.Clean() {
					return checkFailed{}
				}
				return nil
			})(cmd, nil)
		},
	}
	cmd.Flags().StringVar(&o.OrganizationID, "org", "", "check only this organization (default: all)")
	cmd.Flags().BoolVar(&o.Fix, "fix", false, "mark dangling rows (never deletes)")
	cmd.Flags().IntVar(&o.Concurrency, "concurrency", 8, "reads in flight at once")
	cmd.Flags().Float64Var(&o.Rate, "rate", 50, "reads per second, over all services")
	return cmd
}

// reconcileText lists what reconcile found, a line per credential or
// create: what is wrong and what --fix does (or did) about it.
func reconcileText(w io.Writer, rep credentials.ReconcileReport, fixed bool) {
	fmt.Fprintf(w, "checked %d credential(s): %d ok\n", rep.Checked, rep.OK)
	for _, r := range rep.Dangling {
		act := "--fix marks it missing (reads then say so); update it with its secret to store it again"
		if r.Marked {
			act = "marked missing; update it with its secret to store it again"
		}
		fmt.Fprintf(w, "dangling\t%s\torg %s\titem %s stored by %s is gone\t%s\n", r.CredentialID, r.OrganizationID, r.ItemID, r.StoredBy, act)
	}
	for _, r := range rep.Stale {
		fmt.Fprintf(w, "stale\t%s\torg %s\tstored by %s, current is %s\t`credvault credentials migrate --org %s` moves it (--fix does not)\n",
			r.CredentialID, r.OrganizationID, r.StoredBy, r.Current, r.OrganizationID)
	}
	for _, r := range rep.Unreachable {
		fmt.Fprintf(w, "unreachable\t%s\torg %s\t%s\tupdate it with its secret (--fix does not)\n", r.CredentialID, r.OrganizationID, r.Error)
	}
	for _, r := range rep.Failed {
		act := "run reconcile again later"
		if !r.Transient {
			act = "running again will not help: fix what the error names (the service's token, its answers, the address rules)"
		}
		fmt.Fprintf(w, "failed\t%s\torg %s\t%s\t%s\n", r.CredentialID, r.OrganizationID, r.Error, act)
	}
	for _, c := range rep.LostCreates {
		act := "--fix recovers it through its Idempotency-Key"
		switch {
		case c.Recovered:
			act = "recovered: the item it stored is deleted"
		case c.Note != "":
			act = c.Note
		}
		fmt.Fprintf(w, "lost create\t%s\torg %s\t%s of %s, %ds ago\t%s\n", c.IdempotencyKey, c.OrganizationID, c.Operation, c.CredentialID, c.AgeSeconds, act)
	}
	for _, c := range rep.InFlight {
		fmt.Fprintf(w, "in flight\t%s\torg %s\t%s of %s, %ds ago\trecovered automatically once its lease ends, if its process stopped\n",
			c.IdempotencyKey, c.OrganizationID, c.Operation, c.CredentialID, c.AgeSeconds)
	}
	if fixed {
		fmt.Fprintf(w, "fixed: %d marked, %d cleared, %d lost create(s) recovered\n", rep.Marked, rep.Cleared, rep.Recovered)
	}
	switch {
	case !rep.Clean():
		fmt.Fprintln(w, "needs attention (exit 1)")
	case len(rep.InFlight) > 0:
		fmt.Fprintf(w, "nothing wrong; %d create(s) in flight\n", len(rep.InFlight))
	default:
		fmt.Fprintln(w, "all ok")
	}
}
