package config

import (
	"encoding/json"
	"fmt"
	"net/url"
)

// redactedMark replaces a secret in every printed form of a Config.
const redactedMark = "[redacted]"

// redacted returns c with its secrets replaced: the service token, the
// inline keyset and the database URL's password. What is left says
// whether each is set, never what it is.
func (c Config) redacted() Config {
	if c.CustomToken != "" {
		c.CustomToken = redactedMark
	}
	if c.Keyset != "" {
		c.Keyset = redactedMark
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err == nil && u.User != nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			}
			c.DatabaseURL = u.Redacted()
		} else if err != nil {
			c.DatabaseURL = redactedMark // unparseable: it may hold anything
		}
	}
	return c
}

// configFields is Config without its methods, so printing it does not
// recurse into Format.
type configFields Config

// Format prints c in any verb (%v, %+v, %#v, %s, %q, %x, ...) with its
// secrets redacted: a Config passed to fmt, a log line or a panic never
// shows the service token, the keyset or the database password.
func (c Config) Format(f fmt.State, verb rune) {
	r := configFields(c.redacted())
	format := "%"
	for _, flag := range "+-# 0" {
		if f.Flag(int(flag)) {
			format += string(flag)
		}
	}
	if w, ok := f.Width(); ok {
		format += fmt.Sprint(w)
	}
	if p, ok := f.Precision(); ok {
		format += "." + fmt.Sprint(p)
	}
	_, _ = fmt.Fprintf(f, format+string(verb), r)
}

// MarshalJSON encodes c with its secrets redacted.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(configFields(c.redacted())) }
