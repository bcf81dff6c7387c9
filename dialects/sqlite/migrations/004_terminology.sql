-- 004: terminology. The is-a closure of every stored CodeSystem (each concept with itself at
-- distance 0; rebuilt in the transaction that writes the CodeSystem) and cached ValueSet
-- expansions (keyed by the ValueSet's literal reference `ValueSet/<id>`), with what each used
-- (`kind`, `url`) so that a write of any of those drops it.
CREATE TABLE IF NOT EXISTS term_closure (
    tenant TEXT NOT NULL, source_id TEXT NOT NULL, system TEXT NOT NULL,
    ancestor TEXT NOT NULL, descendant TEXT NOT NULL, distance INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS term_closure_down ON term_closure (tenant, ancestor, system, descendant);
CREATE INDEX IF NOT EXISTS term_closure_up ON term_closure (tenant, descendant, system, ancestor);
CREATE INDEX IF NOT EXISTS term_closure_source ON term_closure (tenant, source_id);

CREATE TABLE IF NOT EXISTS term_expansion (
    tenant TEXT NOT NULL, valueset TEXT NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL,
    display TEXT
);
CREATE INDEX IF NOT EXISTS term_expansion_code ON term_expansion (tenant, valueset, system, code);

CREATE TABLE IF NOT EXISTS term_expansion_state (
    tenant TEXT NOT NULL, valueset TEXT NOT NULL, url TEXT, version TEXT,
    total INTEGER NOT NULL, expanded_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, valueset)
);

CREATE TABLE IF NOT EXISTS term_expansion_dep (
    tenant TEXT NOT NULL, valueset TEXT NOT NULL, kind TEXT NOT NULL, url TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS term_expansion_dep_url ON term_expansion_dep (tenant, kind, url);
CREATE INDEX IF NOT EXISTS term_expansion_dep_vs ON term_expansion_dep (tenant, valueset);
