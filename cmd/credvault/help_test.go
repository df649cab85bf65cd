package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// buildCommands builds both binaries once for the exec tests.
func buildCommands(t *testing.T) (credvault, credentialService string) {
	t.Helper()
	dir := t.TempDir()
	credvault, credentialService = filepath.Join(dir, "credvault"), filepath.Join(dir, "credential-service")
	for out, pkg := range map[string]string{credvault: ".", credentialService: "../credential-service"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return credvault, credentialService
}

func execCode(t *testing.T, bin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = t.TempDir()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	}
	t.Fatal(err)
	return 0, "", ""
}

// TestHelpAndExitCodes runs the built binaries: every command and
// subcommand answers --help with exit 0; usage errors exit 2; failed
// operations exit 1.
func TestHelpAndExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	cv, cs := buildCommands(t)
	env := []string{"CREDVAULT_DATA_DIR=" + t.TempDir()}
	for _, args := range [][]string{
		{"--help"}, {"serve", "--help"}, {"migrate", "--help"}, {"keys", "--help"}, {"keys", "init", "--help"},
		{"keys", "rotate", "--help"}, {"org", "--help"}, {"org", "create", "--help"}, {"org", "list", "--help"},
		{"org", "keys", "--help"}, {"org", "add-key", "--help"}, {"org", "revoke-key", "--help"}, {"audit", "list", "--help"}, {"outbox", "list", "--help"},
		{"check-service", "--help"}, {"version", "--help"}, {"completion", "bash", "--help"},
	} {
		code, out, errOut := execCode(t, cv, env, args...)
		if code != 0 || !strings.Contains(out, "Usage:") || errOut != "" {
			t.Errorf("credvault %s: exit %d, stdout has usage %v, stderr %q", strings.Join(args, " "), code, strings.Contains(out, "Usage:"), errOut)
		}
	}
	if _, out, _ := execCode(t, cv, env, "org", "create", "--help"); strings.Contains(out, "--key") || !strings.Contains(out, "--name") {
		t.Errorf("org create --help lists unrelated flags:\n%s", out)
	}
	if _, out, _ := execCode(t, cv, env, "org", "create", "--help"); !strings.Contains(out, "Examples:") {
		t.Error("org create --help has no example")
	}
	for _, args := range [][]string{
		{}, {"bogus"}, {"org", "create"}, {"keys", "init"}, {"org", "frobnicate"}, {"serve", "--bogus"},
		{"check-service", "--url", "notaurl", "--token", "0123456789abcdef"}, {"check-service", "--url", "https://x.example.com"},
		{"org", "list", "--format", "yaml"}, {"migrate", "extra"},
	} {
		code, _, errOut := execCode(t, cv, env, args...)
		want := 2
		if len(args) == 0 {
			want = 0 // bare command: help
		}
		if code != want {
			t.Errorf("credvault %s: exit %d, want %d (%s)", strings.Join(args, " "), code, want, strings.TrimSpace(errOut))
		}
	}
	if code, _, _ := execCode(t, cv, env, "org", "list"); code != 1 {
		t.Errorf("org list without a database: exit %d, want 1", code)
	}
	if code, out, _ := execCode(t, cv, env, "version"); code != 0 || !strings.Contains(out, `"version"`) {
		t.Errorf("version: exit %d %s", code, out)
	}
	if code, out, _ := execCode(t, cv, env, "completion", "bash"); code != 0 || !strings.Contains(out, "bash completion") {
		t.Errorf("completion bash: exit %d", code)
	}
	if code, out, _ := execCode(t, cs, nil, "--help"); code != 0 || !strings.Contains(out, "Usage:") {
		t.Errorf("credential-service --help: exit %d", code)
	}
	if code, _, _ := execCode(t, cs, nil, "--bogus"); code != 2 {
		t.Errorf("credential-service --bogus: exit %d, want 2", code)
	}
}

// TestTextFormat: every command prints JSON by default and text with
// --format text.
func TestTextFormat(t *testing.T) {
	t.Setenv("CREDVAULT_DATA_DIR", t.TempDir())
	if code, out, _ := runCLI("migrate", "--format", "text"); code != 0 || !strings.HasPrefix(out, "applied ") {
		t.Fatalf("migrate --format text: %d %q", code, out)
	}
	code, out, _ := runCLI("org", "create", "--name", "Acme", "--format", "text")
	if code != 0 || !strings.Contains(out, "(shown once)") {
		t.Fatalf("org create --format text: %d %q", code, out)
	}
	if code, out, _ := runCLI("org", "list"); code != 0 || !strings.HasPrefix(out, `[{"organization_id"`) {
		t.Fatalf("org list: %d %q", code, out)
	}
	if code, out, _ := runCLI("org", "list", "--format", "text"); code != 0 || !strings.Contains(out, "Acme") || !strings.HasPrefix(out, "ORGANIZATION") {
		t.Fatalf("org list --format text: %d %q", code, out)
	}
	if code, out, _ := runCLI("outbox", "list"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("outbox list: %d %q", code, out)
	}
}

// TestEveryCommandHasAnExample: every command's --help shows at least one
// example (cobra's own help and completion commands aside).
func TestEveryCommandHasAnExample(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() == "help" || c.Name() == "completion" || (c.Parent() != nil && c.Parent().Name() == "completion") {
			return
		}
		if c.Parent() != nil && strings.TrimSpace(c.Example) == "" {
			t.Errorf("`%s --help` has no example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(io.Discard, io.Discard))
}

// TestErrorsSpeakPlainly: a usage error points at the misused command's
// help; what was not found is named; an existing keyset is not "file
// exists". No internal package prefix reaches a person.
func TestErrorsSpeakPlainly(t *testing.T) {
	t.Setenv("CREDVAULT_DATA_DIR", t.TempDir())
	if code, _, e := runCLI("migrate"); code != 0 {
		t.Fatal(e)
	}
	ks := filepath.Join(t.TempDir(), "ks.json")
	if code, _, e := runCLI("keys", "init", "--out", ks); code != 0 {
		t.Fatal(e)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"org", "create"}, "Run 'credvault org create --help'"},
		{[]string{"keys", "promote"}, "Run 'credvault keys promote --help'"},
		{[]string{"org", "revoke-key", "--org", "org_x", "--key", "key_y"}, "organization org_x has no API key key_y"},
		{[]string{"org", "keys", "--org", "org_x"}, "organization org_x: not found"},
		{[]string{"keys", "init", "--out", ks}, ks + " already exists"},
	} {
		_, _, errOut := runCLI(tc.args...)
		if !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "store:") || strings.Contains(errOut, "keyring:") {
			t.Errorf("credvault %s: %q, want %q", strings.Join(tc.args, " "), errOut, tc.want)
		}
	}
}
