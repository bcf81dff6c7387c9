-- 005: Bulk Data export jobs (helios_persistence.analytics.jobs). One row per job: its state,
-- its request and destination, the counts per type (JSON), the manifest once complete, the
-- OperationOutcome of a failure, and the process running it (host:pid + heartbeat, seconds
-- since the epoch) so a job left running by a killed process can be found and resumed.
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
    heartbeat         REAL,
    PRIMARY KEY (tenant, id)
);
