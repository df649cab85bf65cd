package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/testdb"
)

func TestFolders(t *testing.T) {
	t.Parallel()
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			h, _, _, key := configured(t, kind)
			_, keyB := h.org("B")
			r := h.do("POST", "/api/v1/credential_folders", key, map[string]any{"title": "Banking", "description": "money"})
			if r.status != 200 {
				t.Fatalf("create folder = %d %s", r.status, r.body)
			}
			folder := r.json(t)
			fid := folder["folder_id"].(string)
			if !strings.HasPrefix(fid, "cfld_") || folder["credential_count"] != 0.0 || folder["title"] != "Banking" {
				t.Fatalf("folder = %v", folder)
			}
			var ids []string
			for _, n := range []string{"a", "b", "c"} {
				r := h.do("POST", "/api/v1/credentials", key, secretBody(n, n))
				ids = append(ids, r.json(t)["credential_id"].(string))
			}
			for _, id := range ids[:2] {
				r := h.do("PUT", "/api/v1/credentials/"+id+"/folder", key, map[string]any{"folder_id": fid})
				if r.status != 200 || r.json(t)["folder_id"] != fid {
					t.Fatalf("move = %d %s", r.status, r.body)
				}
			}
			var list []map[string]any
			r = h.do("GET", "/api/v1/credentials?folder_id="+fid, key, nil)
			_ = json.Unmarshal(r.body, &list)
			if r.status != 200 || len(list) != 2 {
				t.Fatalf("folder filter = %d, %d credentials", r.status, len(list))
			}
			if r := h.do("GET", "/api/v1/credential_folders/"+fid, key, nil); r.json(t)["credential_count"] != 2.0 {
				t.Fatalf("count = %s", r.body)
			}
			var folders []map[string]any
			_ = json.Unmarshal(h.do("GET", "/api/v1/credential_folders?search=bank", key, nil).body, &folders)
			if len(folders) != 1 {
				t.Fatalf("search found %d folders", len(folders))
			}
			// Other organizations see nothing and cannot file into it.
			if r := h.do("GET", "/api/v1/credential_folders/"+fid, keyB, nil); r.status != 404 {
				t.Fatalf("B get = %d", r.status)
			}
			fidB := h.do("POST", "/api/v1/credential_folders", keyB, map[string]any{"title": "B's"}).json(t)["folder_id"].(string)
			if r := h.do("PUT", "/api/v1/credentials/"+ids[2]+"/folder", key, map[string]any{"folder_id": fidB}); r.status != 400 {
				t.Fatalf("filing into another organization's folder = %d %s", r.status, r.body)
			}
			if r := h.do("PUT", "/api/v1/credentials/"+ids[2]+"/folder", keyB, map[string]any{"folder_id": fidB}); r.status != 404 {
				t.Fatalf("another organization moving A's credential = %d %s", r.status, r.body)
			}
			if r := h.do("PUT", "/api/v1/credentials/"+ids[2]+"/folder", key, map[string]any{"folder_id": "cfld_nope"}); r.status != 400 ||
				!strings.Contains(r.detail(), "folder_id") {
				t.Fatalf("move into a missing folder = %d %s", r.status, r.body)
			}
			if r := h.do("PUT", "/api/v1/credentials/"+ids[2]+"/folder", key, map[string]any{}); r.status != 400 {
				t.Fatalf("move without folder_id = %d", r.status)
			}
			if r := h.do("PUT", "/api/v1/credential_folders/"+fid, key, map[string]any{"title": "Bank"}); r.status != 200 || r.json(t)["title"] != "Bank" {
				t.Fatalf("rename folder = %d %s", r.status, r.body)
			}
			if r := h.do("PUT", "/api/v1/credential_folders/"+fid, key, map[string]any{}); r.status != 400 {
				t.Fatalf("empty folder update = %d", r.status)
			}
			if r := h.do("PUT", "/api/v1/credentials/"+ids[0]+"/folder", key, map[string]any{"folder_id": nil}); r.status != 200 || r.json(t)["folder_id"] != nil {
				t.Fatalf("unfile = %d %s", r.status, r.body)
			}
			if r := h.do("DELETE", "/api/v1/credential_folders/"+fid, key, nil); r.status != 200 || r.json(t)["status"] != "deleted" {
				t.Fatalf("delete folder = %d %s", r.status, r.body)
			}
			if r := h.do("GET", "/api/v1/credentials/"+ids[1], key, nil); r.status != 200 || r.json(t)["folder_id"] != nil {
				t.Fatalf("credential after its folder was deleted = %d %s", r.status, r.body)
			}
			if r := h.do("DELETE", "/api/v1/credential_folders/"+fid, key, nil); r.status != 404 {
				t.Fatalf("delete twice = %d", r.status)
			}
		})
	}
}
