package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// FuzzDecodeCredential: any create/update body decodes, or fails with an
// error that maps to a 4xx naming the problem; never a panic, never a 5xx.
func FuzzDecodeCredential(f *testing.F) {
	for _, s := range []string{
		`{"name":"n","credential_type":"password","credential":{"username":"u","password":"p","totp":"JBSWY3DPEHPK3PXP","totp_type":"authenticator","metadata":{"a":"b"}}}`,
		`{"name":"n","credential_type":"credit_card","credential":{"card_holder_name":"A","card_number":"4242424242424242","card_exp_month":"12","card_exp_year":"2030","card_cvv":"123","card_brand":"Visa","billing_address":{"line1":"x"}}}`,
		`{"name":"n","credential_type":"secret","credential":{"secret_value":"v","secret_label":"l"},"vault_type":"custom"}`,
		`{"name":"n","credential_type":"secret","credential":{"secret_value":1}}`,
		`{"name":"n","credential_type":"secret","credential":{"x":1}}`,
		`{"name":"\u0000","credential_type":"secret","credential":null}`,
		`{"credential_type":"bogus","credential":{}}`, `[]`, `{`, ``, `{"a":1} {}`, "\xff\xfe",
		`{"Name":"n","credential_type":"secret","credential":{"secret_value":"v"}}`,
		"{\"name\":\"n\",\"credential_type\":\"secret\",\"credential\":{\"secret_value\":\"\xc3\"}}",
		"{\"a\":[1,{\"b\":\"\xff\"}]}",
	} {
		f.Add([]byte(s))
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/api/v1/credentials", strings.NewReader(string(body)))
		c := e.NewContext(req, httptest.NewRecorder())
		cred, err := decodeCredential(c)
		if err != nil {
			if code, msg := statusOf(err); code < 400 || code >= 500 || msg == "" {
				t.Fatalf("decode error maps to %d %q", code, msg)
			}
			return
		}
		if err := cred.Validate(); err != nil {
			if code, _ := statusOf(err); code != 400 {
				t.Fatalf("validation error maps to %d", code)
			}
		}
	})
}
