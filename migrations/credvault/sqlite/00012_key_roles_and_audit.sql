-- +goose Up
-- API keys get a role (what they may do), a name (what they are for) and
-- an optional expiry. Keys made before this migration could do everything:
-- they become admin keys, so nothing changes for their holders.
ALTER TABLE org_api_keys ADD COLUMN role text NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'member', 'agent'));
ALTER TABLE org_api_keys ADD COLUMN name text NOT NULL DEFAULT '';
ALTER TABLE org_api_keys ADD COLUMN expires_at datetime NULL;

-- Every audit event names the acting key's role and the request it came
-- with; the worker prunes events past CREDVAULT_AUDIT_RETENTION by age.
ALTER TABLE audit_events ADD COLUMN actor_role text NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN request_id text NOT NULL DEFAULT '';
CREATE INDEX audit_events_created ON audit_events (created_at);

-- +goose Down
DROP INDEX audit_events_created;
ALTER TABLE audit_events DROP COLUMN request_id;
ALTER TABLE audit_events DROP COLUMN actor_role;
ALTER TABLE org_api_keys DROP COLUMN expires_at;
ALTER TABLE org_api_keys DROP COLUMN name;
ALTER TABLE org_api_keys DROP COLUMN role;
