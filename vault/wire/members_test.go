package wire

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzMembers: the reflection-free split agrees with json.Unmarshal into
// a map of raw members on every input: the same verdict, the same keys,
// and each value the same JSON.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{
		`{"type":"password","username":"u","password":"p","totp":null}`,
		` { "a" : [1, {"b": "}"}], "a": "last", "k\u00e9y": "v\"q" } `,
		`{}`, `null`, `[]`, `{"a":1,}`, `{"a":1}{}`, `"x"`, `{"a":-1.5e3,"b":true,"c":false}`,
		"{\"\xff\":1}", `{"nested":{"x":{"y":[[],{}]}},"s":"\\"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := members(b)
		var want map[string]json.RawMessage
		err := json.Unmarshal(b, &want)
		if wantOK := err == nil && want != nil; ok != wantOK {
			t.Fatalf("%q: members ok=%v, json.Unmarshal err=%v", b, ok, err)
		}
		if !ok {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d members, want %d", b, len(got), len(want))
		}
		for k, w := range want {
			g, found := got[k]
			if !found {
				t.Fatalf("%q: key %q missing", b, k)
			}
			var cg, cw bytes.Buffer
			if json.Compact(&cg, g) != nil || json.Compact(&cw, w) != nil || cg.String() != cw.String() {
				t.Fatalf("%q: key %q = %s, want %s", b, k, g, w)
			}
		}
	})
}
