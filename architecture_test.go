package credvault_test

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/credvault/credvault"

// TestTheArchitecturePageIsTheCode: docs/ARCHITECTURE.md's table of who
// may import what is exactly what the packages import — no import the
// table does not list, no listed import the code does not make — and
// names every package but the end-to-end programs.
func TestTheArchitecturePageIsTheCode(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ":")
		name := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		if name == "" {
			name = "credvault"
		}
		if strings.HasPrefix(name, "e2e") {
			continue
		}
		imports[name] = []string{}
		for _, d := range strings.Fields(deps) {
			if strings.HasPrefix(d, module+"/") {
				imports[name] = append(imports[name], strings.TrimPrefix(d, module+"/"))
			} else if d == module {
				imports[name] = append(imports[name], "credvault")
			}
		}
	}
	page, err := os.ReadFile("docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	tick := regexp.MustCompile("`([^`]+)`")
	documented := map[string]bool{}
	for _, line := range strings.Split(string(page), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		var pkgs []string
		for _, m := range tick.FindAllStringSubmatch(cells[1], -1) {
			pkgs = append(pkgs, strings.TrimSuffix(m[1], " (root)"))
		}
		allowedCell := cells[3]
		var allowed []string
		for _, m := range tick.FindAllStringSubmatch(allowedCell, -1) {
			allowed = append(allowed, m[1])
		}
		for _, pkg := range pkgs {
			documented[pkg] = true
			got, ok := imports[pkg]
			if !ok {
				t.Errorf("ARCHITECTURE.md names %s, which is not a package", pkg)
				continue
			}
			if strings.Contains(allowedCell, "everything below") {
				continue
			}
			own := allowed
			if strings.Contains(allowedCell, "their package") {
				own = append(slices.Clone(allowed), pkg[:strings.LastIndex(pkg, "/")])
			}
			for _, dep := range got {
				if !allows(own, dep) {
					t.Errorf("%s imports %s; ARCHITECTURE.md does not list it", pkg, dep)
				}
			}
			if len(pkgs) > 1 {
				continue // a row for several packages lists the union of their imports
			}
			for _, a := range allowed {
				if !slices.ContainsFunc(got, func(dep string) bool { return allows([]string{a}, dep) }) {
					t.Errorf("ARCHITECTURE.md says %s imports %s; it does not", pkg, a)
				}
			}
		}
	}
	for pkg := range imports {
		if !documented[pkg] {
			t.Errorf("%s has no row in ARCHITECTURE.md", pkg)
		}
	}
}

// allows reports whether dep is in list, where "vault/*" stands for
// vault's subpackages.
func allows(list []string, dep string) bool {
	for _, a := range list {
		if a == dep || strings.HasSuffix(a, "/*") && strings.HasPrefix(dep, strings.TrimSuffix(a, "*")) {
			return true
		}
	}
	return false
}
