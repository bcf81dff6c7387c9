-- 006: terminology. The is-a closure of every stored CodeSystem (each concept with itself at
-- distance 0; rebuilt in the transaction that writes the CodeSystem) and cached ValueSet
-- expansions (keyed by the ValueSet's literal reference `ValueSet/<id>`), with what each used
-- (`kind`, `url`) so that a write of any of those drops it. Tenant-isolated like every table.
CREATE TABLE IF NOT EXISTS term_closure (
    tenant TEXT COLLATE "C" NOT NULL, source_id TEXT COLLATE "C" NOT NULL,
    system TEXT COLLATE "C" NOT NULL, ancestor TEXT COLLATE "C" NOT NULL,
    descendant TEXT COLLATE "C" NOT NULL, distance INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS term_closure_down ON term_closure (tenant, ancestor, system, descendant);
CREATE INDEX IF NOT EXISTS term_closure_up ON term_closure (tenant, descendant, system, ancestor);
CREATE INDEX IF NOT EXISTS term_closure_source ON term_closure (tenant, source_id);

CREATE TABLE IF NOT EXISTS term_expansion (
    tenant TEXT COLLATE "C" NOT NULL, valueset TEXT COLLATE "C" NOT NULL,
    system TEXT COLLATE "C" NOT NULL, code TEXT COLLATE "C" NOT NULL, display TEXT
);
CREATE INDEX IF NOT EXISTS term_expansion_code ON term_expansion (tenant, valueset, system, code);

CREATE TABLE IF NOT EXISTS term_expansion_state (
    tenant TEXT COLLATE "C" NOT NULL, valueset TEXT COLLATE "C" NOT NULL,
    url TEXT COLLATE "C", version TEXT COLLATE "C",
    total INTEGER NOT NULL, expanded_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, valueset)
);

CREATE TABLE IF NOT EXISTS term_expansion_dep (
    tenant TEXT COLLATE "C" NOT NULL, valueset TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL, url TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS term_expansion_dep_url ON term_expansion_dep (tenant, kind, url);
CREATE INDEX IF NOT EXISTS term_expansion_dep_vs ON term_expansion_dep (tenant, valueset);

DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'term_closure', 'term_expansion', 'term_expansion_state', 'term_expansion_dep'
    ] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I '
            'USING (tenant = current_setting(''helios.tenant'', true)) '
            'WITH CHECK (tenant = current_setting(''helios.tenant'', true))', t);
    END LOOP;
END $$;
