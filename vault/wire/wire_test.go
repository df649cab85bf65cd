package wire_test

import (
	"strings"
	"testing"

	"github.com/credvault/credvault/vault/wire"
)

func TestEchoedSecretsHarvestsStoredItem(t *testing.T) {
	t.Parallel()
	body := `{"detail":"{\"password\":\"hunter2-long\",\"metadata\":{\"k\":\"meta-secret\"}}","card_cvv":987}`
	got := strings.Join(wire.EchoedSecrets([]byte(body)), ",")
	for _, want := range []string{"hunter2-long", "meta-secret", "987"} {
		if !strings.Contains(got, want) {
			t.Errorf("echoedSecrets misses a value (%d found)", len(wire.EchoedSecrets([]byte(body))))
		}
	}
}
