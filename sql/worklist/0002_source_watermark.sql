-- Worklist store, schema version 2: per-resource-type watermarks of FHIR sources.
--
-- One row per source x resource type: the server's transactionTime of the last pull that
-- completed, i.e. the `_since` of the next incremental pull. `source` is the FHIR base URL
-- (never credentials). Portable between SQLite and PostgreSQL.
CREATE TABLE source_watermark (
    source TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    transaction_time TIMESTAMP NOT NULL,
    since_honoured BOOLEAN NOT NULL,
    run_id TEXT NOT NULL REFERENCES run (run_id),
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, resource_type)
);
