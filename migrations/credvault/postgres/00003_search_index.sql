-- +goose Up
-- Search uses one lower-cased expression over every searchable column,
-- indexed with trigrams, so a substring search does not scan the
-- organization's rows. pg_trgm is database-wide (and a trusted extension:
-- a database owner may create it): it is created once, in "public" when
-- that schema exists, under a lock so concurrent migrations of several
-- schemas do not race, and the index names the schema that holds it.
-- +goose StatementBegin
DO $$
DECLARE
    ext_schema text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('credvault:pg_trgm'));
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public') THEN
            CREATE EXTENSION pg_trgm SCHEMA public;
        ELSE
            CREATE EXTENSION pg_trgm;
        END IF;
    END IF;
    SELECT n.nspname INTO ext_schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_trgm';
    EXECUTE format(
        'CREATE INDEX credentials_search_trgm ON credentials USING gin ('
        '(lower(name || chr(31) || username || chr(31) || secret_label || chr(31) || card_brand || chr(31) || card_last_four)) %I.gin_trgm_ops'
        ') WHERE deleted_at IS NULL', ext_schema);
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP INDEX credentials_search_trgm;
