package credentials

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/vault"
)

// Settings are a credential's non-secret settings, named and typed as in
// Skyvern's CredentialResponse. Nil pointers are JSON null. credvault
// stores and returns them; it does not act on them (it runs no browser).
type Settings struct {
	FolderID                 *string         `json:"folder_id"`
	TestedURL                *string         `json:"tested_url"`
	UserContext              *string         `json:"user_context"`
	BrowserProfileID         *string         `json:"browser_profile_id"`
	AutoProfileDisabled      *bool           `json:"auto_profile_disabled"`
	PinSavedSessionIP        bool            `json:"pin_saved_session_ip"`
	SaveBrowserSessionIntent *bool           `json:"save_browser_session_intent"`
	RunSequentially          bool            `json:"run_sequentially"`
	ProxyLocation            json.RawMessage `json:"proxy_location"`
	ProxySessionID           *string         `json:"proxy_session_id"`
}

// Field is an optional field of a partial change: Set says whether the
// request carried it; Value nil with Set true is an explicit null.
type Field[T any] struct {
	Set   bool
	Value *T
}

// Patch changes a credential's name and settings without touching its
// secret (Skyvern's PATCH /credentials/{id}). Unset fields are kept.
type Patch struct {
	Name                     Field[string]
	TestedURL                Field[string]
	UserContext              Field[string]
	BrowserProfileID         Field[string]
	AutoProfileDisabled      Field[bool]
	PinSavedSessionIP        Field[bool]
	SaveBrowserSessionIntent Field[bool]
	RunSequentially          Field[bool]
	ProxyLocation            Field[json.RawMessage]
	ProxySessionID           Field[string]
}

// Empty reports whether p changes nothing.
func (p Patch) Empty() bool {
	return !p.Name.Set && !p.TestedURL.Set && !p.UserContext.Set && !p.BrowserProfileID.Set &&
		!p.AutoProfileDisabled.Set && !p.PinSavedSessionIP.Set && !p.SaveBrowserSessionIntent.Set &&
		!p.RunSequentially.Set && !p.ProxyLocation.Set && !p.ProxySessionID.Set
}

const maxUserContext = 1000

// validate checks p and normalises it as Skyvern does: whitespace-only
// user_context and proxy_session_id are null, a null boolean that Skyvern
// ignores is left unset.
func (p *Patch) validate() error {
	if p.Name.Set {
		if p.Name.Value == nil || strings.TrimSpace(*p.Name.Value) == "" {
			return problem.Invalid("name", "must be a non-empty string")
		}
		if len(*p.Name.Value) > 1024 {
			return problem.Invalid("name", "must be at most 1024 bytes")
		}
		if err := vault.CheckText("name", *p.Name.Value); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name  string
		field *Field[string]
	}{{"tested_url", &p.TestedURL}, {"user_context", &p.UserContext}, {"browser_profile_id", &p.BrowserProfileID}, {"proxy_session_id", &p.ProxySessionID}} {
		if !f.field.Set || f.field.Value == nil {
			continue
		}
		v := *f.field.Value
		if err := vault.CheckTextMax(f.name, v, 4096); err != nil {
			return err
		}
		if (f.name == "user_context" || f.name == "proxy_session_id") && strings.TrimSpace(v) == "" {
			f.field.Value = nil
		}
	}
	if p.UserContext.Value != nil && len([]rune(*p.UserContext.Value)) > maxUserContext {
		return problem.Invalid("user_context", "must be at most %d characters", maxUserContext)
	}
	if p.ProxySessionID.Value != nil {
		v := strings.TrimSpace(*p.ProxySessionID.Value)
		p.ProxySessionID.Value = &v
	}
	if p.ProxyLocation.Set && p.ProxyLocation.Value != nil {
		norm, err := NormalizeProxyLocation(*p.ProxyLocation.Value)
		if err != nil {
			return err
		}
		p.ProxyLocation.Value = &norm
		if norm == nil {
			p.ProxyLocation.Value = nil
		}
	}
	return nil
}

// apply writes p onto row with Skyvern's semantics: name, browser profile,
// IP pinning and the proxy fields take an explicit null; the other
// settings change only when given a value.
func (p Patch) apply(r *store.Credential) {
	if p.Name.Set {
		r.Name = *p.Name.Value
	}
	if p.BrowserProfileID.Set {
		r.BrowserProfileID = p.BrowserProfileID.Value
	}
	if p.PinSavedSessionIP.Set {
		r.PinSavedSessionIP = p.PinSavedSessionIP.Value != nil && *p.PinSavedSessionIP.Value
	}
	if p.TestedURL.Value != nil {
		r.TestedURL = p.TestedURL.Value
	}
	if p.UserContext.Value != nil {
		r.UserContext = p.UserContext.Value
	}
	if p.SaveBrowserSessionIntent.Value != nil {
		r.SaveBrowserSessionIntent = p.SaveBrowserSessionIntent.Value
	}
	if p.AutoProfileDisabled.Value != nil {
		r.AutoProfileDisabled = p.AutoProfileDisabled.Value
	}
	if p.RunSequentially.Value != nil {
		r.RunSequentially = *p.RunSequentially.Value
	}
	if p.ProxyLocation.Set {
		r.ProxyLocation = nil
		if p.ProxyLocation.Value != nil {
			s := string(*p.ProxyLocation.Value)
			r.ProxyLocation = &s
		}
	}
	if p.ProxySessionID.Set {
		r.ProxySessionID = p.ProxySessionID.Value
	}
}

var proxyLocationName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// NormalizeProxyLocation checks a proxy_location as Skyvern accepts it — a
// location name such as "RESIDENTIAL" or "US-CA", a JSON string holding a
// geo-target object, or a geo-target object {"country", "subdivision"?,
// "city"?} — and returns its compact JSON, or nil for null or "".
func NormalizeProxyLocation(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	bad := problem.Invalid("proxy_location", `must be a proxy location name (such as "RESIDENTIAL"), a geo-target object {"country", "subdivision", "city"}, or null`)
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, bad
		}
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			return nil, nil
		case strings.HasPrefix(s, "{"):
			return NormalizeProxyLocation(json.RawMessage(s))
		case !proxyLocationName.MatchString(s):
			return nil, bad
		}
		out, _ := json.Marshal(s)
		return out, nil
	}
	var geo struct {
		Country     *string `json:"country"`
		Subdivision *string `json:"subdivision"`
		City        *string `json:"city"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&geo); err != nil || geo.Country == nil {
		return nil, bad
	}
	if c := *geo.Country; len(c) != 2 || !isLetters(c) {
		return nil, problem.Invalid("proxy_location.country", "must be a 2-letter ISO 3166-1 country code")
	}
	up := strings.ToUpper(*geo.Country)
	geo.Country = &up
	if geo.Subdivision != nil {
		sub := strings.ToUpper(*geo.Subdivision)
		if i := strings.Index(sub, "-"); i >= 0 {
			sub = sub[i+1:]
		}
		if len(sub) > 10 || vault.CheckText("proxy_location.subdivision", sub) != nil {
			return nil, problem.Invalid("proxy_location.subdivision", "must be an ISO 3166-2 code of at most 10 characters")
		}
		geo.Subdivision = &sub
	}
	if geo.City != nil && (len([]rune(*geo.City)) > 100 || vault.CheckText("proxy_location.city", *geo.City) != nil) {
		return nil, problem.Invalid("proxy_location.city", "must be a city name of at most 100 characters")
	}
	out, _ := json.Marshal(geo)
	return out, nil
}

func isLetters(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

func settingsOf(r store.Credential) Settings {
	s := Settings{FolderID: r.FolderID, TestedURL: r.TestedURL, UserContext: r.UserContext,
		BrowserProfileID: r.BrowserProfileID, AutoProfileDisabled: r.AutoProfileDisabled,
		PinSavedSessionIP: r.PinSavedSessionIP, SaveBrowserSessionIntent: r.SaveBrowserSessionIntent,
		RunSequentially: r.RunSequentially, ProxySessionID: r.ProxySessionID}
	if r.ProxyLocation != nil {
		s.ProxyLocation = json.RawMessage(*r.ProxyLocation)
	}
	return s
}
