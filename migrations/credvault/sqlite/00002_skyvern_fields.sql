-- +goose Up
-- Skyvern's non-secret credential fields, credential folders, and pushed
-- TOTP codes (for email/SMS logins).
ALTER TABLE credentials ADD COLUMN folder_id text;
ALTER TABLE credentials ADD COLUMN tested_url text;
ALTER TABLE credentials ADD COLUMN user_context text;
ALTER TABLE credentials ADD COLUMN browser_profile_id text;
ALTER TABLE credentials ADD COLUMN auto_profile_disabled boolean;
ALTER TABLE credentials ADD COLUMN pin_saved_session_ip boolean NOT NULL DEFAULT false;
ALTER TABLE credentials ADD COLUMN save_browser_session_intent boolean;
ALTER TABLE credentials ADD COLUMN run_sequentially boolean NOT NULL DEFAULT false;
ALTER TABLE credentials ADD COLUMN proxy_location text;
ALTER TABLE credentials ADD COLUMN proxy_session_id text;
CREATE INDEX credentials_org_folder ON credentials (organization_id, folder_id) WHERE deleted_at IS NULL;

CREATE TABLE credential_folders (
    id              text PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    title           text NOT NULL,
    description     text,
    created_at      datetime NOT NULL,
    modified_at     datetime NOT NULL,
    deleted_at      datetime
);
CREATE INDEX credential_folders_org ON credential_folders (organization_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE totp_codes (
    id              text PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    totp_identifier text NOT NULL,
    task_id         text,
    workflow_id     text,
    workflow_run_id text,
    source          text,
    otp_type        text,
    ciphertext      blob NOT NULL,
    created_at      datetime NOT NULL,
    expires_at      datetime NOT NULL
);
CREATE INDEX totp_codes_org_newest ON totp_codes (organization_id, created_at DESC);
CREATE INDEX totp_codes_expiry ON totp_codes (expires_at);

-- +goose Down
DROP TABLE totp_codes;
DROP TABLE credential_folders;
DROP INDEX credentials_org_folder;
