package wire

import (
	"encoding/json"
	"testing"
)

// FuzzAppendString: the encoder's string writer writes exactly what
// encoding/json writes, for any string.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"uote\`, "<&>", "\n\r\t\b\f\x00\x1f", "\u2028\u2029", "é€😀", "\xff\xfe", "a\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}
