package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func versionCmd(out output) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Example: "  credvault version\n  credvault version --format text",
		Short:   "Print the version (module version and commit)",
		Args:    noArgs,
		RunE: func(*cobra.Command, []string) error {
			v := map[string]string{"version": "(devel)", "commit": "", "go": ""}
			if bi, ok := debug.ReadBuildInfo(); ok {
				v["version"], v["go"] = bi.Main.Version, bi.GoVersion
				for _, s := range bi.Settings {
					switch s.Key {
					case "vcs.revision":
						v["commit"] = s.Value
					case "vcs.modified":
						if s.Value == "true" {
							v["commit"] += "+dirty"
						}
					}
				}
			}
			return out.print(v, func(w io.Writer) {
				fmt.Fprintf(w, "credvault %s (commit %s, %s)\n", v["version"], v["commit"], v["go"])
			})
		},
	}
}
