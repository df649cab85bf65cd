// Package otpcodes stores one-time codes pushed for email and SMS logins
// (Skyvern's POST /credentials/totp): each code and the message it came in
// are Tink-encrypted, bound to the organization and the row, expire, and
// are never logged.
package otpcodes

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/sealed"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/vault"
)

// OTP types (Skyvern's OTPType).
const (
	TypeTOTP      = "totp"
	TypeMagicLink = "magic_link"
)

// Bounds.
const (
	DefaultTTL       = 10 * time.Minute
	MaxTTL           = 24 * time.Hour
	MaxContentBytes  = 16 << 10
	DefaultListLimit = 50
	MaxListLimit     = 200
)

// Push is a pushed code as Skyvern's TOTPCodeCreate has it.
type Push struct {
	TOTPIdentifier string     `json:"totp_identifier"`
	Content        string     `json:"content"`
	TaskID         *string    `json:"task_id"`
	WorkflowID     *string    `json:"workflow_id"`
	WorkflowRunID  *string    `json:"workflow_run_id"`
	Source         *string    `json:"source"`
	ExpiredAt      *time.Time `json:"expired_at"`
	Type           *string    `json:"type"`
}

// Code is a stored code as Skyvern's TOTPCode shows it. Code and Content
// are secrets, returned only to the organization that pushed them.
type Code struct {
	TOTPCodeID     string     `json:"totp_code_id"`
	OrganizationID string     `json:"organization_id"`
	TOTPIdentifier string     `json:"totp_identifier"`
	Code           string     `json:"code"`
	Content        string     `json:"content"`
	TaskID         *string    `json:"task_id"`
	WorkflowID     *string    `json:"workflow_id"`
	WorkflowRunID  *string    `json:"workflow_run_id"`
	Source         *string    `json:"source"`
	OTPType        *string    `json:"otp_type"`
	Type           *string    `json:"type"`
	ExpiredAt      *time.Time `json:"expired_at"`
	CreatedAt      time.Time  `json:"created_at"`
	ModifiedAt     time.Time  `json:"modified_at"`
}

// secretPart is what is encrypted.
type secretPart struct {
	Code    string `json:"code"`
	Content string `json:"content"`
}

// Store is what the service needs from storage (package store/sqlstore
// provides it).
type Store interface {
	Now() time.Time
	InsertOTPCode(ctx context.Context, c store.OTPCode) error
	ListOTPCodes(ctx context.Context, orgID string, f store.OTPFilter) ([]store.OTPCode, error)
}

// Service stores and lists pushed codes.
type Service struct {
	store   Store
	keyring sealed.Sealer
	// TTL is how long a code without expired_at lives (default 10 min).
	TTL time.Duration
}

// New returns a Service.
func New(s Store, k sealed.Sealer) *Service {
	return &Service{store: s, keyring: k, TTL: DefaultTTL}
}

func associatedData(orgID, id string) []byte {
	return sealed.AssociatedData("credvault", "totp_code", orgID, id)
}

var (
	digitsCode = regexp.MustCompile(`(?:^|[^0-9A-Za-z])([0-9]{4,8})(?:$|[^0-9A-Za-z])`)
	magicLink  = regexp.MustCompile(`https?://[^\s<>"']+`)
)

// extract finds the code in a message of the type the sender named: a
// magic link is the first link (else the whole message); a code is the
// whole content when it is short (typed by hand), else the first
// standalone run of 4 to 8 digits. With no type named: a short content,
// else digits, else a link. "" when there is none.
func extract(content, typ string) (code, otpType string) {
	c := strings.TrimSpace(content)
	switch typ {
	case TypeMagicLink:
		// A link may hold 4+ digits; named a magic link, it stays one.
		if m := magicLink.FindString(c); m != "" {
			return m, TypeMagicLink
		}
		return c, TypeMagicLink
	case TypeTOTP:
		if utf8.RuneCountInString(c) <= 10 && !strings.ContainsAny(c, " \t\n") {
			return c, TypeTOTP
		}
		if m := digitsCode.FindStringSubmatch(c); m != nil {
			return m[1], TypeTOTP
		}
		return "", TypeTOTP
	}
	if utf8.RuneCountInString(c) <= 10 && !strings.ContainsAny(c, " \t\n") {
		return c, TypeTOTP
	}
	if m := digitsCode.FindStringSubmatch(c); m != nil {
		return m[1], TypeTOTP
	}
	if m := magicLink.FindString(c); m != "" {
		return m, TypeMagicLink
	}
	return "", ""
}

func optText(field string, v *string) error {
	if v == nil {
		return nil
	}
	return vault.CheckTextMax(field, *v, 256)
}

// Push stores a code for orgID.
func (s *Service) Push(ctx context.Context, orgID string, p Push) (Code, error) {
	id := strings.TrimSpace(p.TOTPIdentifier)
	switch {
	case id == "":
		return Code{}, problem.Invalid("totp_identifier", "is required")
	case len(id) > 256:
		return Code{}, problem.Invalid("totp_identifier", "must be at most 256 bytes")
	case strings.TrimSpace(p.Content) == "":
		return Code{}, problem.Invalid("content", "is required")
	case len(p.Content) > MaxContentBytes:
		return Code{}, problem.Invalid("content", "must be at most %d bytes", MaxContentBytes)
	}
	if err := vault.CheckText("totp_identifier", id); err != nil {
		return Code{}, err
	}
	// Like Skyvern: NUL bytes are dropped from the content.
	content := strings.ReplaceAll(p.Content, "\x00", "")
	if !utf8.ValidString(content) {
		return Code{}, problem.Invalid("content", "must be valid UTF-8 text")
	}
	for field, v := range map[string]*string{"task_id": p.TaskID, "workflow_id": p.WorkflowID, "workflow_run_id": p.WorkflowRunID, "source": p.Source} {
		if err := optText(field, v); err != nil {
			return Code{}, err
		}
	}
	if p.Type != nil && *p.Type != TypeTOTP && *p.Type != TypeMagicLink {
		return Code{}, problem.Invalid("type", "must be totp or magic_link")
	}
	if strings.Contains(id, "@") {
		id = strings.ToLower(id) // Skyvern normalises email identifiers
	}
	now := s.store.Now()
	expires := now.Add(s.TTL)
	if p.ExpiredAt != nil {
		e := p.ExpiredAt.UTC()
		if !e.After(now) {
			return Code{}, problem.Invalid("expired_at", "must be in the future")
		}
		expires = e
		if limit := now.Add(MaxTTL); e.After(limit) {
			expires = limit
		}
	}
	typ := ""
	if p.Type != nil {
		typ = *p.Type
	}
	code, otpType := extract(content, typ)
	pt, _ := json.Marshal(secretPart{Code: code, Content: content})
	row := store.OTPCode{ID: store.NewID("totp"), OrganizationID: orgID, TOTPIdentifier: id, TaskID: p.TaskID,
		WorkflowID: p.WorkflowID, WorkflowRunID: p.WorkflowRunID, Source: p.Source, CreatedAt: now, ExpiresAt: expires}
	if otpType != "" {
		row.OTPType = &otpType
	}
	ct, err := s.keyring.Encrypt(pt, associatedData(orgID, row.ID))
	if err != nil {
		return Code{}, err
	}
	row.Ciphertext = ct
	if err := s.store.InsertOTPCode(ctx, row); err != nil {
		return Code{}, err
	}
	return view(row, secretPart{Code: code, Content: content}, p.Type), nil
}

func view(r store.OTPCode, sp secretPart, typ *string) Code {
	exp := r.ExpiresAt.UTC()
	return Code{TOTPCodeID: r.ID, OrganizationID: r.OrganizationID, TOTPIdentifier: r.TOTPIdentifier, Code: sp.Code,
		Content: sp.Content, TaskID: r.TaskID, WorkflowID: r.WorkflowID, WorkflowRunID: r.WorkflowRunID, Source: r.Source,
		OTPType: r.OTPType, Type: typ, ExpiredAt: &exp, CreatedAt: r.CreatedAt.UTC(), ModifiedAt: r.CreatedAt.UTC()}
}

// ListOptions filter List (Skyvern's query parameters).
type ListOptions struct {
	TOTPIdentifier string
	WorkflowRunID  string
	OTPType        string
	Limit          int
}

// List returns the organization's unexpired codes, newest first.
func (s *Service) List(ctx context.Context, orgID string, o ListOptions) ([]Code, error) {
	if o.Limit == 0 {
		o.Limit = DefaultListLimit
	}
	if o.Limit < 1 || o.Limit > MaxListLimit {
		return nil, problem.Invalid("limit", "must be between 1 and %d", MaxListLimit)
	}
	if o.OTPType != "" && o.OTPType != TypeTOTP && o.OTPType != TypeMagicLink {
		return nil, problem.Invalid("otp_type", "must be totp or magic_link")
	}
	for field, v := range map[string]string{"totp_identifier": o.TOTPIdentifier, "workflow_run_id": o.WorkflowRunID} {
		if err := vault.CheckTextMax(field, v, 256); err != nil {
			return nil, err
		}
	}
	id := strings.TrimSpace(o.TOTPIdentifier)
	if strings.Contains(id, "@") {
		id = strings.ToLower(id)
	}
	rows, err := s.store.ListOTPCodes(ctx, orgID, store.OTPFilter{TOTPIdentifier: id, WorkflowRunID: o.WorkflowRunID,
		OTPType: o.OTPType, Limit: o.Limit})
	if err != nil {
		return nil, err
	}
	out := make([]Code, 0, len(rows))
	for _, r := range rows {
		pt, err := s.keyring.Decrypt(r.Ciphertext, associatedData(orgID, r.ID))
		if err != nil {
			return nil, fmt.Errorf("pushed code %s: %w", r.ID, err)
		}
		var sp secretPart
		if err := json.Unmarshal(pt, &sp); err != nil {
			return nil, fmt.Errorf("pushed code %s: undecodable plaintext", r.ID)
		}
		out = append(out, view(r, sp, nil))
	}
	return out, nil
}

// Sealed is where pushed codes' ciphertexts are stored, for key rotation
// (`credvault keys`).
func Sealed(st sealed.Database) sealed.Set {
	return st.Sealed("totp_codes", sealed.Column{Table: "totp_codes", ID: "id", Ciphertext: "ciphertext",
		Extra: []string{"organization_id"}}, func(v sealed.Value) []byte { return associatedData(v.Extra[0], v.ID) })
}
