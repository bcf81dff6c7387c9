-- 002: GIN indexes for full text and, where the pg_trgm extension is installed, a trigram GIN
-- index for string :contains (norm LIKE '%x%'); an index for type-level history. The operator
-- class is qualified with the extension's own schema, so tenant schemas need not have it on
-- their search_path. (Token :text, LIKE '% x%' on display text, has no trigram index: it
-- would cost ingest ~8% for a rare query; it scans the parameter's btree range, as SQLite.)
CREATE INDEX IF NOT EXISTS history_type_updated ON history (tenant, type, last_updated);
CREATE INDEX IF NOT EXISTS resource_text_narrative ON resource_text USING gin (narrative);
CREATE INDEX IF NOT EXISTS resource_text_content ON resource_text USING gin (content);
CREATE INDEX IF NOT EXISTS param_text_text ON param_text USING gin (text);

DO $$
DECLARE
    nsp TEXT;
BEGIN
    SELECT n.nspname INTO nsp
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_trgm';
    IF nsp IS NOT NULL THEN
        EXECUTE format(
            'CREATE INDEX IF NOT EXISTS idx_string_trgm ON idx_string USING gin (norm %I.gin_trgm_ops)',
            nsp);
    END IF;
END $$;
