-- +goose Up
-- Nothing on the embedded database: it has no search index (search reads
-- the organization's rows). PostgreSQL's 00013 adds its character and
-- digit-run keys; this keeps both schemas at the same version.
SELECT 1;

-- +goose Down
SELECT 1;
