-- 007: Bulk Data export jobs (helios_persistence.analytics.jobs); see the SQLite migration
-- 005_export_jobs.sql for the columns. Row-level security as on every tenant table (003).
CREATE TABLE IF NOT EXISTS export_jobs (
    tenant            TEXT NOT NULL,
    id                TEXT NOT NULL,
    status            TEXT NOT NULL,
    request           TEXT NOT NULL,
    destination       TEXT NOT NULL,
    transaction_time  TEXT NOT NULL,
    counts            TEXT,
    manifest          TEXT,
    error             TEXT,
    owner             TEXT,
    heartbeat         DOUBLE PRECISION,
    PRIMARY KEY (tenant, id)
);
ALTER TABLE export_jobs ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON export_jobs;
CREATE POLICY tenant_isolation ON export_jobs
    USING (tenant = current_setting('helios.tenant', true))
    WITH CHECK (tenant = current_setting('helios.tenant', true));
