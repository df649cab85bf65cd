-- +goose Up
-- Search uses one lower-cased expression over every searchable column,
-- indexed with trigrams together with the organization (btree_gin), so a
-- substring search reads only that organization's matches and never scans
-- its rows. pg_trgm and btree_gin are database-wide (and trusted
-- extensions: a database owner may create them): each is created once, in
-- "public" when that schema exists, under a lock so concurrent migrations
-- of several schemas do not race, and the index names the schemas that
-- hold their operator classes.
-- +goose StatementBegin
DO $$
DECLARE
    ext text;
    trgm_schema text;
    btree_schema text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('credvault:extensions'));
    FOREACH ext IN ARRAY ARRAY['pg_trgm', 'btree_gin'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = ext) THEN
            IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public') THEN
                EXECUTE format('CREATE EXTENSION %I SCHEMA public', ext);
            ELSE
                EXECUTE format('CREATE EXTENSION %I', ext);
            END IF;
        END IF;
    END LOOP;
    SELECT n.nspname INTO trgm_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    SELECT n.nspname INTO btree_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'btree_gin';
    EXECUTE format(
        'CREATE INDEX credentials_search_trgm ON credentials USING gin (organization_id %I.text_ops, '
        '(lower(name || chr(31) || username || chr(31) || secret_label || chr(31) || card_brand || chr(31) || card_last_four)) %I.gin_trgm_ops'
        ') WHERE deleted_at IS NULL', btree_schema, trgm_schema);
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP INDEX credentials_search_trgm;
