-- +goose Up
-- Nothing on the embedded database: it has no trigram index (search
-- reads the organization's rows). PostgreSQL's 00011 builds its
-- organization-scoped search keys; this keeps both schemas at the same
-- version.
SELECT 1;

-- +goose Down
SELECT 1;
