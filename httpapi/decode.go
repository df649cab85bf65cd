package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
)

// decodeJSON strictly decodes the request body into v: malformed JSON,
// unknown fields, wrong types and trailing data are 400s naming the
// problem; a body over the limit is 413. Values are never echoed.
func decodeJSON(c echo.Context, v any, allowEmpty bool) error {
	_, err := decodeJSONBody(c, v, allowEmpty)
	return err
}

// decodeJSONBody is decodeJSON that also returns the body, for callers
// that must know which keys were present (absent and null differ).
func decodeJSONBody(c echo.Context, v any, allowEmpty bool) ([]byte, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, echo.ErrStatusRequestEntityTooLarge
		}
		return nil, echo.NewHTTPError(http.StatusBadRequest, "could not read the request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return nil, nil
		}
		return nil, echo.NewHTTPError(http.StatusBadRequest, "request body is required (JSON object)")
	}
	// encoding/json would replace invalid UTF-8 with U+FFFD and store it:
	// the raw bytes are checked first.
	if !utf8.Valid(body) {
		return nil, problem.Invalid(invalidUTF8Field(body), "is not valid UTF-8 text")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := jsonProblem(err)
		if isUnknownField(err) {
			if name, ok := problem.UnknownField(err); ok {
				msg += didYouMean(strings.Trim(name, `"`), reflect.TypeOf(v))
			}
		}
		return nil, echo.NewHTTPError(http.StatusBadRequest, msg)
	}
	if dec.More() {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "request body must be a single JSON object")
	}
	// encoding/json keeps the last of two equal keys: which one a proxy,
	// a log or a WAF in front of credvault read is anyone's guess.
	if path, ok := duplicateKey(body); ok {
		return nil, problem.Invalid(path, "appears twice in the request body: send each field once")
	}
	// encoding/json also matches field names case-insensitively ("Name"
	// for "name"): names are exact here.
	if name, ok := inexactField(body, reflect.TypeOf(v)); ok {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "unknown field "+quoteField(name)+didYouMean(name, reflect.TypeOf(v)))
	}
	return body, nil
}

// didYouMean suggests the field of t (its JSON names, nested structs
// included) that name was probably meant to be: the same letters but for
// case, "_" and "-" (apiToken → api_token), or at most two edits away.
// It returns "" when there is no such field.
func didYouMean(name string, t reflect.Type) string {
	fold := func(s string) string { return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s)) }
	best, bestDist := "", 3
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag == "-" {
				continue
			}
			if tag == "" && f.Anonymous {
				walk(f.Type)
				continue
			}
			if tag != "" && tag != name {
				d := 3
				if fold(tag) == fold(name) {
					d = 0
				} else if len(name) <= 64 {
					d = editDistance(tag, name, 3)
				}
				if d < bestDist {
					best, bestDist = tag, d
				}
			}
			walk(f.Type)
		}
	}
	walk(t)
	if best == "" {
		return ""
	}
	return "; did you mean " + strconv.Quote(best) + "?"
}

// editDistance is the Levenshtein distance of a and b, or limit when it
// is at least limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}

// quoteField quotes a client-chosen field name, cut to 64 characters.
func quoteField(name string) string {
	if len(name) > 64 {
		name = name[:64] + "…"
	}
	return strconv.Quote(name)
}

// inexactField returns the first key of the JSON object body (and of the
// objects nested in it that decode into structs) that is not exactly the
// name of a field of t.
func inexactField(body []byte, t reflect.Type) (string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeOf(json.RawMessage{}) {
			return "", false
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) != nil {
			return "", false
		}
		fields := jsonFields(t)
		for k, v := range obj {
			ft, ok := fields[k]
			if !ok {
				return k, true
			}
			if name, bad := inexactField(v, ft); bad {
				return k + "." + name, true
			}
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "", false // json.RawMessage, []byte
		}
		var arr []json.RawMessage
		if json.Unmarshal(body, &arr) != nil {
			return "", false
		}
		for i, v := range arr {
			if name, bad := inexactField(v, t.Elem()); bad {
				return fmt.Sprintf("[%d].%s", i, name), true
			}
		}
	}
	return "", false
}

// jsonFields maps the JSON names of t's fields (embedded structs' too) to
// their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || (!f.IsExported() && !f.Anonymous):
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			maps.Copy(out, jsonFields(f.Type))
		case name == "":
			out[f.Name] = f.Type
		default:
			out[name] = f.Type
		}
	}
	return out
}

// invalidUTF8Field names the field holding the first invalid UTF-8 byte
// of body ("body" when it is not inside a field): "credential.password",
// "sources[0].api_token".
func invalidUTF8Field(body []byte) string {
	bad := 0
	for bad < len(body) {
		r, n := utf8.DecodeRune(body[bad:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		bad += n
	}
	type frame struct {
		object bool
		key    string
		index  int
		// value: in an object, the next string is a value, not a key.
		value bool
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			switch {
			case f.object && f.key != "":
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			case !f.object:
				fmt.Fprintf(&b, "[%d]", f.index)
			}
		}
		if b.Len() == 0 {
			return "body"
		}
		return b.String()
	}
	// A value is done: the enclosing object expects a key next, the
	// enclosing array an element.
	done := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].value = false
			} else {
				stack[n-1].index++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return path()
		}
		past := dec.InputOffset() > int64(bad)
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				if past {
					return path()
				}
				stack = append(stack, frame{object: t == '{'})
				continue
			}
			stack = stack[:len(stack)-1]
			done()
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && !stack[n-1].value {
				stack[n-1].key, stack[n-1].value = t, true
				if past {
					return path()
				}
				continue
			}
			if past {
				return path()
			}
			done()
		default:
			done()
		}
	}
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "malformed JSON in request body"
	case errors.As(err, &te):
		if te.Field == "" {
			return "request body must be a JSON object"
		}
		return te.Field + ": must be a JSON " + jsonKind(te.Type.Kind().String())
	case isUnknownField(err):
		name, _ := problem.UnknownField(err)
		return "unknown field " + name
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON in request body"
	}
	return "invalid JSON in request body"
}

func jsonKind(k string) string {
	switch k {
	case "map", "struct":
		return "object"
	case "slice":
		return "array"
	case "int", "int64", "float64":
		return "number"
	case "bool":
		return "boolean"
	}
	return k
}

func secret(s string) vault.Secret { return vault.NewSecret(s) }

func isUnknownField(err error) bool {
	_, ok := problem.UnknownField(err)
	return ok
}

// duplicateKey finds the first key that appears twice in one object of
// body (valid JSON) and names it by its path ("config.api_token",
// "sources[1].api_base_url"; each name cut to 64 characters).
func duplicateKey(body []byte) (string, bool) {
	type frame struct {
		object bool
		keys   map[string]bool
		index  int    // the next element's index, in an array
		key    string // the last key read, in an object
		path   string
		want   bool // an object expects a key next
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []*frame
	child := func() string {
		if len(stack) == 0 {
			return ""
		}
		f := stack[len(stack)-1]
		if f.object {
			if f.path == "" {
				return f.key
			}
			return f.path + "." + f.key
		}
		return fmt.Sprintf("%s[%d]", f.path, f.index)
	}
	// value marks the end of a value in the enclosing frame.
	value := func() {
		if len(stack) == 0 {
			return
		}
		f := stack[len(stack)-1]
		if f.object {
			f.want = true
		} else {
			f.index++
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false // io.EOF, or not JSON (decoded before: cannot happen)
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, &frame{object: t == '{', keys: map[string]bool{}, path: child(), want: t == '{'})
			case '}', ']':
				stack = stack[:len(stack)-1]
				value()
			}
		case string:
			if top != nil && top.object && top.want {
				name := t
				if r := []rune(name); len(r) > 64 {
					name = string(r[:64]) + "…"
				} else if name == "" {
					name = `""`
				}
				top.key, top.want = name, false
				if top.keys[t] {
					return child(), true
				}
				top.keys[t] = true
				continue
			}
			value()
		default:
			value()
		}
	}
}
