-- +goose Up
-- When each API key was last used, to within the key cache's lifetime.
ALTER TABLE org_api_keys ADD COLUMN last_used_at datetime;

-- +goose Down
SELECT 1;
