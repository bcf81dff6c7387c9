-- 012: a search's `:in` / `:not-in` ValueSet resolved inside the search statement (no extra
-- round trips). helios_valueset_key(tenant, value) gives the literal reference
-- `ValueSet/<id>` the cached expansion is stored under, for a search value that is a url, a
-- `url|version` or a reference `ValueSet/<id>` (the rules of terminology/tables.py's
-- resolve_valueset and StoreSource.locate: the live ValueSet with that url, and version when
-- given, stored last). It raises SQLSTATE HLVS1 when no such ValueSet is stored and HLVS2
-- (DETAIL: the reference) when its expansion is not cached: the store then expands and caches
-- it in a write transaction and runs the search again, as it did before.
-- It reads tables yet is declared IMMUTABLE on purpose: the planner then calls it once while
-- planning (its arguments are constants in a custom plan) and plans with the key as a
-- constant, as it did when the key was bound (a STABLE call left the key unknown to the
-- planner, which chose a 30x slower page plan). Every store transaction sets
-- plan_cache_mode = force_custom_plan, so no plan (and no folded key) is ever reused, and
-- planning runs in the transaction's snapshot (REPEATABLE READ for reads).
CREATE OR REPLACE FUNCTION helios_valueset_key(p_tenant TEXT, p_value TEXT)
RETURNS TEXT LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    found_id TEXT;
    bar INTEGER := strpos(p_value, '|');
    wanted_url TEXT;
    wanted_version TEXT;
BEGIN
    IF p_value LIKE 'ValueSet/%' AND bar = 0 THEN
        SELECT r.id INTO found_id FROM resources r
        WHERE r.tenant = p_tenant AND r.type = 'ValueSet' AND r.id = substr(p_value, 10)
          AND r.deleted = 0;
    ELSE
        wanted_url := CASE WHEN bar > 0 THEN substr(p_value, 1, bar - 1) ELSE p_value END;
        wanted_version := CASE WHEN bar > 0 THEN NULLIF(substr(p_value, bar + 1), '') END;
        SELECT r.id INTO found_id FROM resources r
        LEFT JOIN idx_token v ON v.tenant = r.tenant AND v.type = r.type AND v.id = r.id
             AND v.param = 'version'
        WHERE r.tenant = p_tenant AND r.type = 'ValueSet' AND r.deleted = 0
          AND r.id IN (SELECT u.id FROM idx_uri u WHERE u.tenant = p_tenant
                       AND u.type = 'ValueSet' AND u.param = 'url' AND u.uri = wanted_url)
          AND (wanted_version IS NULL OR v.code = wanted_version)
        ORDER BY r.last_updated DESC LIMIT 1;
    END IF;
    IF found_id IS NULL THEN
        RAISE EXCEPTION 'ValueSet % is not stored', p_value USING ERRCODE = 'HLVS1';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM term_expansion_state s
                   WHERE s.tenant = p_tenant AND s.valueset = 'ValueSet/' || found_id) THEN
        RAISE EXCEPTION 'the expansion of ValueSet/% is not cached', found_id
            USING ERRCODE = 'HLVS2', DETAIL = 'ValueSet/' || found_id;
    END IF;
    RETURN 'ValueSet/' || found_id;
END $$;
