package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/conformance"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/netpolicy"
)

func checkServiceCmd(stdout io.Writer) *cobra.Command {
	var rawURL, token, tokenFile string
	var asJSON bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "check-service",
		Short: "Check a custom credential service against the contract",
		Long: "Creates each credential type, reads it back comparing every field, deletes it, and checks 404s,\n" +
			"a wrong token and a trailing-slash base URL. Exit 0 if every required check passes, 1 if one fails,\n" +
			"2 on usage errors. The report is JSON; --format text prints one PASS/FAIL/WARN line per check.",
		Example: "  credvault check-service --url http://127.0.0.1:8081/api/v1/credentials --token-file token.txt --format text",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tokenFile != "" {
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return usageError{fmt.Sprintf("cannot read --token-file %s", tokenFile)}
				}
				token = strings.TrimSpace(string(b))
			}
			if token == "" {
				return usageError{"check-service needs --token TOKEN or --token-file FILE"}
			}
			cfg, err := config.FromEnv()
			if err != nil {
				return usageError{err.Error()}
			}
			policy, err := netpolicy.NewAddressPolicy(cfg.AllowedHosts, false)
			if err != nil {
				return usageError{err.Error()}
			}
			if _, err := policy.CheckURL("--url", rawURL); err != nil {
				return usageError{err.Error()}
			}
			rep := conformance.Run(cmd.Context(), rawURL, vault.NewSecret(token), conformance.Options{Policy: policy, Timeout: timeout})
			if asJSON || cmd.Flag("format").Value.String() == "json" {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				_ = enc.Encode(rep)
			} else {
				rep.Print(stdout) // --format text: one PASS/FAIL/WARN line per check
			}
			if !rep.OK {
				return checkFailed{}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&rawURL, "url", "", "the service's base URL, e.g. https://creds.example.com/api/v1/credentials")
	cmd.Flags().StringVar(&token, "token", "", "the service's API token")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "read the token from this file instead (keeps it out of the process list)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON (the default; kept for scripts)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "per-request timeout")
	_ = cmd.MarkFlagRequired("url")
	return cmd
}
