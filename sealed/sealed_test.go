package sealed_test

import (
	"testing"

	"github.com/credvault/credvault/sealed"
)

// The associated data of every ciphertext already stored is these bytes:
// the encoding must never change.
func TestAssociatedDataIsLengthPrefixed(t *testing.T) {
	for _, c := range []struct {
		parts []string
		want  string
	}{
		{[]string{"credvault", "totp_code", "org_1", "otp_1"}, "9:credvault;9:totp_code;5:org_1;5:otp_1;"},
		{[]string{"ab", "c"}, "2:ab;1:c;"},
		{[]string{"a", "bc"}, "1:a;2:bc;"},
		{[]string{""}, "0:;"},
		{nil, ""},
	} {
		if got := string(sealed.AssociatedData(c.parts...)); got != c.want {
			t.Errorf("AssociatedData(%q) = %q, want %q", c.parts, got, c.want)
		}
	}
}
