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
				progress, done := progressBar(stderr, "credentials checked")
				o.Progress = progress
				rep, err := p.Maintenance.Reconcile(ctx, o)
				done()
				if err != nil {
					return err
				}
				if err := out.print(rep, func(w io.Writer) {
					fmt.Fprintf(w, "checked\t%d\nok\t%d\ndangling\t%d\nstale\t%d\nunreachable\t%d\nfailed\t%d\nlost creates\t%d\nrecovered\t%d\nmarked\t%d\ncleared\t%d\n",
						rep.Checked, rep.OK, len(rep.Dangling), len(rep.Stale), len(rep.Unreachable), len(rep.Failed), len(rep.LostCreates), rep.Recovered,
						rep.Marked, rep.Cleared)
				}); err != nil {
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
