-- +goose Up
-- When each API key was last used, to within the key cache's lifetime
-- (about a minute): written when a key is looked up, not on every request.
ALTER TABLE org_api_keys ADD COLUMN last_used_at timestamptz;

-- +goose Down
ALTER TABLE org_api_keys DROP COLUMN last_used_at;
