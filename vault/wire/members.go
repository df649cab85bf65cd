package wire

import (
	"encoding/json"
)

// members splits a JSON object into its members, as json.Unmarshal into a
// map[string]json.RawMessage does (the last of duplicate keys wins, keys
// unescaped), without reflection: the document is checked by json.Valid's
// scanner, then cut at its top-level boundaries. The values alias body.
// ok is false when body is not one valid JSON object.
func members(body []byte) (map[string]json.RawMessage, bool) {
	if !json.Valid(body) {
		return nil, false
	}
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	obj := make(map[string]json.RawMessage, 8)
	i = skipSpace(body, i+1)
	if body[i] == '}' {
		return obj, true
	}
	for {
		// A key: a string, then ':'.
		end := stringEnd(body, i)
		key, ok := decodeText(body[i:end], strict)
		if !ok {
			return nil, false
		}
		i = skipSpace(body, end)
		i = skipSpace(body, i+1) // past ':'
		end = valueEnd(body, i)
		obj[key] = body[i:end]
		i = skipSpace(body, end)
		if body[i] == '}' {
			return obj, true
		}
		i = skipSpace(body, i+1) // past ','
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd is the index just past the string starting at b[i] ('"').
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// valueEnd is the index just past the valid JSON value starting at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = stringEnd(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	// A number or a literal: up to the next delimiter.
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}
