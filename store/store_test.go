package store_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The domain model and the services that read it link no database driver,
// ORM or cipher: only the composition root and the admin commands do.
func TestTheServicesLinkNoPersistence(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command("go", "list", "-deps", "../httpapi", "../credentials", "../org", "../otpcodes", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"gorm.io/", "github.com/jackc/pgx", "github.com/glebarez/", "github.com/tink-crypto/", "credvault/store/sqlstore", "credvault/internal/keyring"} {
			if strings.Contains(dep, banned) {
				t.Errorf("a service links %s", dep)
			}
		}
	}
}
