package e2e

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/vault"
)

var fuzzMethods = []string{"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"}

// FuzzHTTPHandler sends any method, path, query and body, with or without
// a valid key, to the whole handler over a real PostgreSQL: the answer is
// never a 5xx and nothing panics. Connection tests are left out (they
// would dial whatever URL the fuzzer makes up), and the organization's
// configuration is put back after any input that could change it, so no
// request leaves loopback.
func FuzzHTTPHandler(f *testing.F) {
	for _, s := range []struct {
		m       uint8
		path    string
		query   string
		body    string
		withKey bool
	}{
		{0, "/api/v1/credentials", "page=1&page_size=10", "", true},
		{0, "/api/v1/credentials", "search=%00", "", true},
		{0, "/api/v1/credentials", "search=%FF&credential_type=%00", "", true},
		{0, "/api/v1/credentials", "page=99999999999999999999&page_size=-1", "", true},
		{0, "/api/v1/credentials/\x00", "", "", true},
		{0, "/api/v1/credentials/\xff/totp-code", "", "", true},
		{2, "/api/v1/credentials/\xff\xfe", "", "", true},
		{1, "/api/v1/credentials/\x00/delete", "", "", true},
		{1, "/api/v1/credentials", "", `{"name":"a\u0000","credential_type":"secret","credential":{"secret_value":"v"}}`, true},
		{1, "/api/v1/credentials", "", `{"name":"n","credential_type":"password","credential":{"username":"u","password":"p","totp_type":"authenticator","totp":"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=18446744073709551615"}}`, true},
		{1, "/api/v1/credentials", "", `{"name":"n","credential_type":"secret","credential":{"secret_value":"v"}}`, true},
		{1, "/api/v1/credentials", "", `{"name":"n","credential_type":"credit_card","credential":{"card_holder_name":"A","card_number":"4242424242424242","card_exp_month":"1","card_exp_year":"30","card_cvv":"123","card_brand":"V\u0000"}}`, true},
		{1, "/api/v1/credentials/x/update", "", `{"name":"n","credential_type":"secret","credential":{"secret_value":"v"}}`, true},
		{1, "/v1/credentials/custom_credential/create", "", `{"config":{"api_base_url":"https://a\u0000b/","api_token":"t\u0000"}}`, true},
		{1, "/v1/credentials/custom_credential/create", "", `{"config":{"api_base_url":"https://[::7f00:1]/","api_token":"0123456789abcdef"}}`, true},
		{0, "/v1/credentials/custom_credential/get/", "", "", true},
		{2, "/api/v1/credentials/custom_credential", "", "", true},
		{3, "/api/v1/credentials", "", "{}", true},
		{4, "/api/v1/credentials/x", "", `{"name":"n","proxy_location":{"country":"us","city":"\u0000"}}`, true},
		{4, "/api/v1/credentials/x", "", `{"proxy_location":"{\"country\":1}"}`, true},
		{1, "/api/v1/credential_folders", "", `{"title":"\u0000"}`, true},
		{3, "/api/v1/credentials/x/folder", "", `{"folder_id":"\u0000"}`, true},
		{0, "/api/v1/credential_folders", "search=%00&page_size=501", "", true},
		{1, "/v1/credentials/totp", "", `{"totp_identifier":"a@b","content":"code 123456","expired_at":"9999-01-01T00:00:00Z"}`, true},
		{0, "/v1/credentials/totp", "limit=0&otp_type=x", "", true},
		{0, "/healthz", "", "", false},
		{0, "/settings", "", "", false},
		{0, "/api/v1/credentials", "", "", false},
	} {
		f.Add(s.m, s.path, s.query, []byte(s.body), s.withKey)
	}
	h := newHarness(f, testdb.Postgres)
	svc := fakeservice.New(f, svcToken)
	orgID, key := h.org("Fuzz")
	restore := func() error {
		_, err := h.p.Configs.Save(context.Background(), org.Principal{OrganizationID: orgID, KeyID: "fuzz"},
			org.ServiceConfig{APIBaseURL: svc.Base(), APIToken: vault.NewSecret(svcToken)})
		return err
	}
	if err := restore(); err != nil {
		f.Fatal(err)
	}
	handler := h.p.Handler()
	f.Fuzz(func(t *testing.T, m uint8, path, query string, body []byte, withKey bool) {
		if strings.Contains(path, "test_connection") {
			t.Skip("connection tests dial the URL they are given")
		}
		req := &http.Request{
			Method: fuzzMethods[int(m)%len(fuzzMethods)], URL: &url.URL{Path: path, RawQuery: query},
			Header: http.Header{"Content-Type": {"application/json"}}, Body: http.NoBody, Host: "127.0.0.1",
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, RemoteAddr: "127.0.0.1:1",
		}
		if len(body) > 0 {
			req.Body = httpBody(body)
			req.ContentLength = int64(len(body))
		}
		req = req.WithContext(context.Background())
		if withKey {
			req.Header.Set("x-api-key", key)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q?%q = %d %s", req.Method, path, query, rec.Code, rec.Body)
		}
		if strings.Contains(path, "custom_credential") {
			if err := restore(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

type bodyReader struct{ *bytes.Reader }

func (bodyReader) Close() error { return nil }

func httpBody(b []byte) bodyReader { return bodyReader{bytes.NewReader(b)} }
