-- helios-persistence PostgreSQL schema, version 1 (the tables and their btree indexes).
-- Run with search_path set to the target schema (the shared schema, or a tenant's schema).
-- Every row carries its tenant, also under schema- and database-per-tenant (a second guard).
-- Text columns are COLLATE "C": prefix ranges, LIKE and ORDER BY compare code points, as
-- SQLite does, whatever the database's locale. Value indexes end with `id`, so a parameter
-- match reads ids from the index alone (index-only scans once the table is vacuumed).
-- Dates are [low, high) in microseconds since the epoch (UTC); numbers are float8.
-- Composite parameters store their components under param '<composite>$<i>', tied by `grp`.

CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);

-- Tenants with data in this database (tenant → its schema or database, for the other
-- strategies); row-level security from migration 008.
CREATE TABLE IF NOT EXISTS helios_tenants (
    tenant      TEXT COLLATE "C" PRIMARY KEY,
    location    TEXT COLLATE "C",
    created_at  BIGINT NOT NULL
);

-- The current version of every resource (deleted ones keep a tombstone: deleted = 1, json NULL).
CREATE TABLE IF NOT EXISTS resources (
    tenant        TEXT COLLATE "C" NOT NULL,
    type          TEXT COLLATE "C" NOT NULL,
    id            TEXT COLLATE "C" NOT NULL,
    version       INTEGER  NOT NULL,
    last_updated  BIGINT   NOT NULL,
    deleted       SMALLINT NOT NULL DEFAULT 0,
    json          JSONB,
    PRIMARY KEY (tenant, type, id)
);
CREATE INDEX IF NOT EXISTS resources_updated ON resources (tenant, type, last_updated);

-- Every version, current one included.
CREATE TABLE IF NOT EXISTS history (
    tenant        TEXT COLLATE "C" NOT NULL,
    type          TEXT COLLATE "C" NOT NULL,
    id            TEXT COLLATE "C" NOT NULL,
    version       INTEGER NOT NULL,
    last_updated  BIGINT  NOT NULL,
    method        TEXT    NOT NULL,  -- POST | PUT | PATCH | DELETE
    json          JSONB,
    PRIMARY KEY (tenant, type, id, version)
);
CREATE INDEX IF NOT EXISTS history_updated ON history (tenant, last_updated);

CREATE TABLE IF NOT EXISTS idx_string (
    tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL, param TEXT COLLATE "C" NOT NULL, grp INTEGER,
    norm TEXT COLLATE "C" NOT NULL, exact TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_string_value ON idx_string (tenant, type, param, norm, id);
CREATE INDEX IF NOT EXISTS idx_string_res ON idx_string (tenant, type, id, param);

CREATE TABLE IF NOT EXISTS idx_token (
    tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL, param TEXT COLLATE "C" NOT NULL, grp INTEGER,
    system TEXT COLLATE "C", code TEXT COLLATE "C", text TEXT COLLATE "C",
    type_system TEXT COLLATE "C", type_code TEXT COLLATE "C"
);
CREATE INDEX IF NOT EXISTS idx_token_value ON idx_token (tenant, type, param, code, system, id);
CREATE INDEX IF NOT EXISTS idx_token_res ON idx_token (tenant, type, id, param);

CREATE TABLE IF NOT EXISTS idx_date (
    tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL, param TEXT COLLATE "C" NOT NULL, grp INTEGER,
    low BIGINT NOT NULL, high BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_date_value ON idx_date (tenant, type, param, low, high, id);
-- `gt`/`ge` compare the upper bound: a second index serves an OR of both
CREATE INDEX IF NOT EXISTS idx_date_high ON idx_date (tenant, type, param, high, low, id);
CREATE INDEX IF NOT EXISTS idx_date_res ON idx_date (tenant, type, id, param);

CREATE TABLE IF NOT EXISTS idx_number (
    tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL, param TEXT COLLATE "C" NOT NULL, grp INTEGER,
    value DOUBLE PRECISION NOT NULL, low DOUBLE PRECISION NOT NULL,
    high DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_number_value ON idx_number (tenant, type, param, value, id);
CREATE INDEX IF NOT EXISTS idx_number_res ON idx_number (tenant, type, id, param);

CREATE TABLE IF NOT EXISTS idx_quantity (
    tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL, param TEXT COLLATE "C" NOT NULL, grp INTEGER,
    value DOUBLE PRECISION NOT NULL, low DOUBLE PRECISION NOT NULL,
    high DOUBLE PRECISION NOT NULL,
    system TEXT COLLATE "C", code TEXT COLLATE "C", unit TEXT COLLATE "C",
    canonical_value DOUBLE PRECISION, canonical_low DOUBLE PRECISION,
    canonical_high DOUBLE PRECISION, canonical_unit TEXT COLLATE "C"
);
CREATE INDEX IF NOT EXISTS idx_quantity_value ON idx_quantity (tenant, type, param, value, id);
CREATE INDEX IF NOT EXISTS idx_quantity_canon
    ON idx_quantity (tenant, type, param, canonical_unit, canonical_value, id);
CREATE INDEX IF NOT EXISTS idx_quantity_res ON idx_quantity (tenant, type, id, param);

CREATE TABLE IF NOT EXISTS idx_reference (
    tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL, param TEXT COLLATE "C" NOT NULL, grp INTEGER,
    target_type TEXT COLLATE "C", target_id TEXT COLLATE "C", version TEXT COLLATE "C",
    url TEXT COLLATE "C", identifier_system TEXT COLLATE "C",
    identifier_value TEXT COLLATE "C"
);
CREATE INDEX IF NOT EXISTS idx_reference_value
    ON idx_reference (tenant, type, param, target_id, target_type, id);
CREATE INDEX IF NOT EXISTS idx_reference_target
    ON idx_reference (tenant, target_type, target_id, param, type, id);
CREATE INDEX IF NOT EXISTS idx_reference_res ON idx_reference (tenant, type, id, param);

CREATE TABLE IF NOT EXISTS idx_uri (
    tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL, param TEXT COLLATE "C" NOT NULL, grp INTEGER,
    uri TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_uri_value ON idx_uri (tenant, type, param, uri, id);
CREATE INDEX IF NOT EXISTS idx_uri_res ON idx_uri (tenant, type, id, param);

-- Full text: narrative (_text) and every string (_content) as tsvectors the library builds
-- (folded, Porter-stemmed words with positions: see backends/postgres/text.py).
CREATE TABLE IF NOT EXISTS resource_text (
    tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    narrative TSVECTOR NOT NULL, content TSVECTOR NOT NULL,
    PRIMARY KEY (tenant, type, id)
);

-- Per-parameter text (token display / CodeableConcept.text, strings) for :text-advanced.
CREATE TABLE IF NOT EXISTS param_text (
    tenant TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL, param TEXT COLLATE "C" NOT NULL,
    text TSVECTOR NOT NULL
);
CREATE INDEX IF NOT EXISTS param_text_res ON param_text (tenant, type, id);

-- Changes for secondaries (the composite layer's sync reads and acknowledges these).
CREATE TABLE IF NOT EXISTS outbox (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant       TEXT COLLATE "C" NOT NULL,
    type         TEXT COLLATE "C" NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    version      INTEGER NOT NULL,
    operation    TEXT    NOT NULL,  -- upsert | delete
    created_at   BIGINT  NOT NULL
);
