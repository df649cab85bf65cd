// Command credvault runs the credvault server and its administration
// commands. Run `credvault --help` for the list; every command has --help.
//
// The command tree is built on cobra (github.com/spf13/cobra): the most
// widely used Go CLI library, well kept, with help for every command and
// subcommand, usage errors and shell completion out of the box.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // a failed operation or check
	exitUsage  = 2 // the command line is wrong
)

// usageError marks a wrong command line (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// checkFailed is a check that ran and failed (exit 1, report printed).
type checkFailed struct{}

func (checkFailed) Error() string { return "" }

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetContext(ctx)
	cmd, err := root.ExecuteC()
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &checkFailed{}):
		return exitFailed
	case errors.As(err, &ue) || isCobraUsage(err):
		// The help of the command that was misused, not the root's.
		path := "credvault"
		if cmd != nil {
			path = cmd.CommandPath()
		}
		fmt.Fprintf(stderr, "credvault: %v\nRun '%s --help' for usage.\n", err, path)
		return exitUsage
	}
	fmt.Fprintf(stderr, "credvault: %v\n", err)
	return exitFailed
}

// isCobraUsage recognises cobra's own command-line errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "required flag", "flag needs an argument",
		"invalid argument", "accepts ", "requires "} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, " "+p) {
			return true
		}
	}
	return false
}

// output prints v as JSON, or with text() when --format text.
type output struct {
	w      io.Writer
	format *string
}

func (o output) print(v any, text func(w io.Writer)) error {
	if *o.format == "text" {
		tw := tabwriter.NewWriter(o.w, 0, 4, 2, ' ', 0)
		text(tw)
		return tw.Flush()
	}
	enc := json.NewEncoder(o.w)
	return enc.Encode(v)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	var format string
	out := output{w: stdout, format: &format}
	root := &cobra.Command{
		Use:   "credvault",
		Short: "Credential vault for browser automation",
		Long: "credvault keeps the metadata of an organization's credentials and their secrets in the organization's\n" +
			"own custom credential service. Configuration comes from the environment (see README.md).",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if format != "json" && format != "text" {
				return usageError{"--format must be json or text"}
			}
			return nil
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	root.PersistentFlags().StringVar(&format, "format", "json", "output format: json or text")
	root.AddCommand(serveCmd(stderr), migrateCmd(out), keysCmd(out, stderr), orgCmd(out, stderr), auditCmd(out, stderr), outboxCmd(out, stderr),
		reconcileCmd(out, stderr), credentialsCmd(out, stderr), checkServiceCmd(stdout), backupCmd(out), versionCmd(out))
	return root
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Sprintf("%s takes no arguments (got %q)", cmd.CommandPath(), args[0])}
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// AuditActorCLI is the actor of the audit events the command line records
// (credentials it migrates, say): no API key acted.
const AuditActorCLI = "cli"

// openPlatform opens the server's database for an administration command.
// It refuses to create a new embedded database: run from another folder, a
// command would otherwise make a second database the server never sees.
func openPlatform(ctx context.Context, stderr io.Writer) (*credvault.Platform, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	return credvault.Open(ctx, cfg, credvault.Options{Logger: newLogger(stderr, cfg.LogLevel), Migrate: true, NoCreate: true})
}

// withPlatform runs f with the server's platform opened (openPlatform) and
// closes it afterwards: the body of an administration command.
func withPlatform(stderr io.Writer, f func(context.Context, *credvault.Platform) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		p, err := openPlatform(cmd.Context(), stderr)
		if err != nil {
			return err
		}
		defer p.Close()
		// What a command changes is audited as the command line's.
		return f(store.WithActor(cmd.Context(), store.Actor{KeyID: AuditActorCLI, Role: "operator"}), p)
	}
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
