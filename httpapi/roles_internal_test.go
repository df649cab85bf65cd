package httpapi

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// The OpenAPI document states, for every authenticated operation, the
// role the server enforces (x-credvault-role), and documents every route
// the access table names.
func TestTheOpenAPIDocumentStatesEachRoutesRole(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{(\w+)\}`)
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		rel, ok := strings.CutPrefix(path, "/api/v1")
		if !ok {
			continue
		}
		rel = param.ReplaceAllString(rel, ":$1")
		for method, raw := range ops {
			if method == "parameters" {
				continue
			}
			var op struct {
				Role string `json:"x-credvault-role"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			key := strings.ToUpper(method) + " " + rel
			documented[key] = true
			m, pth, _ := strings.Cut(key, " ")
			a, ok := routeAccess[route{m, pth}]
			switch {
			case !ok:
				t.Errorf("%s is documented but has no access entry", key)
			case op.Role != a.role.String():
				t.Errorf("%s: the document says role %q, the server enforces %q", key, op.Role, a.role)
			}
		}
	}
	for r := range routeAccess {
		if !documented[r.String()] {
			t.Errorf("%s is routed but not documented", r)
		}
	}
}
