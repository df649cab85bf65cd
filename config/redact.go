package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// redactedMark replaces a secret in every printed form of a Config.
const redactedMark = "[redacted]"

// redacted returns c with its secrets replaced: the service token, the
// inline keyset and the database URL's password (in its user info or its
// query). What is left says whether each is set, never what it is.
func (c Config) redacted() Config {
	if c.CustomToken != "" {
		c.CustomToken = redactedMark
	}
	if c.Keyset != "" {
		c.Keyset = redactedMark
	}
	if c.DatabaseURL != "" {
		c.DatabaseURL = redactURL(c.DatabaseURL)
	}
	return c
}

// redactURL hides a database URL's password; a value that is not a URL
// may hold anything, so it is hidden whole.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return redactedMark
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}

// configFields is Config without its methods, so printing it does not
// call them again.
type configFields Config

// GoString is %#v's form of c, its secrets redacted (String, which %v,
// %+v, %s, %q and %x use, shows none).
func (c Config) GoString() string { return fmt.Sprintf("config.Config%+v", configFields(c.redacted())) }

// MarshalJSON encodes c with its secrets redacted.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(configFields(c.redacted())) }
