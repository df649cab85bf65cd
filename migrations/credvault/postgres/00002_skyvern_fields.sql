-- +goose Up
-- Skyvern's non-secret credential fields, credential folders, and pushed
-- TOTP codes (for email/SMS logins).
ALTER TABLE credentials
    ADD COLUMN folder_id                   text,
    ADD COLUMN tested_url                  text,
    ADD COLUMN user_context                text,
    ADD COLUMN browser_profile_id          text,
    ADD COLUMN auto_profile_disabled       boolean,
    ADD COLUMN pin_saved_session_ip        boolean NOT NULL DEFAULT false,
    ADD COLUMN save_browser_session_intent boolean,
    ADD COLUMN run_sequentially            boolean NOT NULL DEFAULT false,
    ADD COLUMN proxy_location              text,   -- JSON: a string or a geo-target object
    ADD COLUMN proxy_session_id            text;
CREATE INDEX credentials_org_folder ON credentials (organization_id, folder_id) WHERE deleted_at IS NULL;

CREATE TABLE credential_folders (
    id              text PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    title           text NOT NULL,
    description     text,
    created_at      timestamptz NOT NULL,
    modified_at     timestamptz NOT NULL,
    deleted_at      timestamptz
);
CREATE INDEX credential_folders_org ON credential_folders (organization_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

-- Pushed one-time codes are secrets: code and content are one Tink
-- ciphertext bound to the organization and the row id.
CREATE TABLE totp_codes (
    id              text PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    totp_identifier text NOT NULL,
    task_id         text,
    workflow_id     text,
    workflow_run_id text,
    source          text,
    otp_type        text,
    ciphertext      bytea NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL
);
CREATE INDEX totp_codes_org_newest ON totp_codes (organization_id, created_at DESC);
CREATE INDEX totp_codes_expiry ON totp_codes (expires_at);

-- +goose Down
DROP TABLE totp_codes;
DROP TABLE credential_folders;
DROP INDEX credentials_org_folder;
ALTER TABLE credentials
    DROP COLUMN folder_id, DROP COLUMN tested_url, DROP COLUMN user_context, DROP COLUMN browser_profile_id,
    DROP COLUMN auto_profile_disabled, DROP COLUMN pin_saved_session_ip, DROP COLUMN save_browser_session_intent,
    DROP COLUMN run_sequentially, DROP COLUMN proxy_location, DROP COLUMN proxy_session_id;
