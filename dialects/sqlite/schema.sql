-- helios-persistence SQLite schema, version 1.
-- Shared-schema tenancy: every row carries its tenant. Value indexes end with `id` so a
-- parameter match reads ids from the index alone (a covering index: no table lookups).
-- `_res` indexes serve deletes and the per-resource lookups of `_sort`. Dates are [low, high) in microseconds
-- since the epoch (UTC). Composite parameters store their components in the per-type tables
-- under param '<composite>$<i>' (i = component position, from 0), tied by `grp`.

CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);

-- The current version of every resource (deleted ones keep a tombstone: deleted = 1, json NULL).
-- Rowid tables (not WITHOUT ROWID): rows carry whole JSON documents, which SQLite stores far
-- better out of the key B-tree (measured: 1.7x faster ingest).
CREATE TABLE IF NOT EXISTS resources (
    tenant        TEXT    NOT NULL,
    type          TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    last_updated  INTEGER NOT NULL,
    deleted       INTEGER NOT NULL DEFAULT 0,
    json          TEXT,
    UNIQUE (tenant, type, id)
);
CREATE INDEX IF NOT EXISTS resources_updated ON resources (tenant, type, last_updated);

-- Every version, current one included.
CREATE TABLE IF NOT EXISTS history (
    tenant        TEXT    NOT NULL,
    type          TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    last_updated  INTEGER NOT NULL,
    method        TEXT    NOT NULL,  -- POST | PUT | PATCH | DELETE
    json          TEXT,
    UNIQUE (tenant, type, id, version)
);
CREATE INDEX IF NOT EXISTS history_updated ON history (tenant, last_updated);

CREATE TABLE IF NOT EXISTS idx_string (
    tenant TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
    grp INTEGER, norm TEXT NOT NULL, exact TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_string_value ON idx_string (tenant, type, param, norm, id);
CREATE INDEX IF NOT EXISTS idx_string_res ON idx_string (tenant, type, id, param);

CREATE TABLE IF NOT EXISTS idx_token (
    tenant TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
    grp INTEGER, system TEXT, code TEXT, text TEXT, type_system TEXT, type_code TEXT
);
CREATE INDEX IF NOT EXISTS idx_token_value ON idx_token (tenant, type, param, code, system, id);
CREATE INDEX IF NOT EXISTS idx_token_res ON idx_token (tenant, type, id, param);

CREATE TABLE IF NOT EXISTS idx_date (
    tenant TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
    grp INTEGER, low INTEGER NOT NULL, high INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_date_value ON idx_date (tenant, type, param, low, high, id);
-- `gt`/`ge` compare the upper bound: a second index lets SQLite answer an OR of both
CREATE INDEX IF NOT EXISTS idx_date_high ON idx_date (tenant, type, param, high, low, id);
CREATE INDEX IF NOT EXISTS idx_date_res ON idx_date (tenant, type, id, param);

CREATE TABLE IF NOT EXISTS idx_number (
    tenant TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
    grp INTEGER, value REAL NOT NULL, low REAL NOT NULL, high REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_number_value ON idx_number (tenant, type, param, value, id);
CREATE INDEX IF NOT EXISTS idx_number_res ON idx_number (tenant, type, id, param);

CREATE TABLE IF NOT EXISTS idx_quantity (
    tenant TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
    grp INTEGER, value REAL NOT NULL, low REAL NOT NULL, high REAL NOT NULL,
    system TEXT, code TEXT, unit TEXT,
    canonical_value REAL, canonical_low REAL, canonical_high REAL, canonical_unit TEXT
);
CREATE INDEX IF NOT EXISTS idx_quantity_value ON idx_quantity (tenant, type, param, value, id);
CREATE INDEX IF NOT EXISTS idx_quantity_canon ON idx_quantity (tenant, type, param, canonical_unit, canonical_value, id);
CREATE INDEX IF NOT EXISTS idx_quantity_res ON idx_quantity (tenant, type, id, param);

CREATE TABLE IF NOT EXISTS idx_reference (
    tenant TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
    grp INTEGER, target_type TEXT, target_id TEXT, version TEXT, url TEXT,
    identifier_system TEXT, identifier_value TEXT
);
CREATE INDEX IF NOT EXISTS idx_reference_value ON idx_reference (tenant, type, param, target_id, target_type, id);
CREATE INDEX IF NOT EXISTS idx_reference_target ON idx_reference (tenant, target_type, target_id, param, type, id);
CREATE INDEX IF NOT EXISTS idx_reference_res ON idx_reference (tenant, type, id, param);

CREATE TABLE IF NOT EXISTS idx_uri (
    tenant TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
    grp INTEGER, uri TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_uri_value ON idx_uri (tenant, type, param, uri, id);
CREATE INDEX IF NOT EXISTS idx_uri_res ON idx_uri (tenant, type, id, param);

-- Full text: narrative (_text) and all text (_content), porter-stemmed, accent-folded.
CREATE VIRTUAL TABLE IF NOT EXISTS resource_text USING fts5 (
    tenant UNINDEXED, type UNINDEXED, id UNINDEXED, narrative, content,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

-- Changes for secondaries (the composite layer's sync reads and acknowledges these).
CREATE TABLE IF NOT EXISTS outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant       TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    operation    TEXT    NOT NULL,  -- upsert | delete
    created_at   INTEGER NOT NULL
);

-- Per-parameter text (token display / CodeableConcept.text, strings) for :text-advanced.
CREATE VIRTUAL TABLE IF NOT EXISTS param_text USING fts5 (
    tenant UNINDEXED, type UNINDEXED, id UNINDEXED, param UNINDEXED, text,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
