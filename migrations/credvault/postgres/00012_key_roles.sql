-- +goose Up
-- API keys get a role (what they may do), a name (what they are for) and
-- an optional expiry. Keys made before this migration could do everything:
-- they become admin keys, so nothing changes for their holders.
ALTER TABLE org_api_keys ADD COLUMN role text NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'member', 'agent'));
ALTER TABLE org_api_keys ADD COLUMN name text NOT NULL DEFAULT '';
ALTER TABLE org_api_keys ADD COLUMN expires_at timestamptz NULL;

-- +goose Down
ALTER TABLE org_api_keys DROP COLUMN expires_at;
ALTER TABLE org_api_keys DROP COLUMN name;
ALTER TABLE org_api_keys DROP COLUMN role;
