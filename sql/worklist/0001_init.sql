-- Worklist store, schema version 1.
--
-- Portable between SQLite and PostgreSQL: only TEXT, INTEGER, BIGINT, DOUBLE PRECISION, DATE,
-- TIMESTAMP and BOOLEAN, no sequences and no dialect-specific defaults. Ids are UUID text or
-- natural keys. TIMESTAMP columns (`_at`) hold UTC without a zone. Applied by
-- pipelines/store_schema.py, which records it in schema_migration; never edit a released
-- migration, add the next numbered file instead.

-- one row per nightly run
CREATE TABLE run (
    run_id TEXT PRIMARY KEY,
    as_of DATE NOT NULL,
    source TEXT NOT NULL,
    screens TEXT NOT NULL,
    rule_versions TEXT NOT NULL,
    status TEXT NOT NULL,
    counts TEXT,
    started_at TIMESTAMP NOT NULL,
    published_at TIMESTAMP,
    finished_at TIMESTAMP
);

-- one row per rejected line or resource, per run
CREATE TABLE quarantine (
    run_id TEXT NOT NULL REFERENCES run (run_id),
    ordinal INTEGER NOT NULL,
    resource_type TEXT,
    resource_id TEXT,
    source TEXT,
    reason TEXT NOT NULL,
    detail TEXT,
    PRIMARY KEY (run_id, ordinal)
);

-- one stable row per patient x screen, ever flagged; status is derived from the latest
-- evaluation and the latest review decision (pipelines/store_status.py)
CREATE TABLE worklist_item (
    item_id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL,
    screen TEXT NOT NULL,
    screen_version INTEGER NOT NULL,
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    is_flagged BOOLEAN NOT NULL,
    first_flagged_on DATE NOT NULL,
    last_flagged_on DATE NOT NULL,
    reflagged_on DATE,
    resolved_on DATE,
    last_evidence_on DATE,
    criteria TEXT NOT NULL,
    evidence TEXT NOT NULL,
    mimics TEXT NOT NULL,
    alerts TEXT NOT NULL,
    as_of DATE NOT NULL,
    run_id TEXT NOT NULL REFERENCES run (run_id),
    decision_count INTEGER NOT NULL,
    last_action TEXT,
    last_decided_at TIMESTAMP,
    last_decided_by TEXT,
    snoozed_until DATE,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT uq_worklist_item_patient_screen UNIQUE (patient_id, screen)
);

CREATE INDEX ix_worklist_item_screen_status ON worklist_item (screen, status);

-- one row per criterion hit per item; kept across runs: is_current marks the hits of the
-- latest run that evaluated the item's screen, first/last_seen_on the as_of range
CREATE TABLE evidence (
    item_id TEXT NOT NULL REFERENCES worklist_item (item_id),
    evidence_key TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    screen_id TEXT NOT NULL,
    screen_version INTEGER NOT NULL,
    criterion_id TEXT NOT NULL,
    role TEXT NOT NULL,
    source_ref TEXT NOT NULL,
    observed_on DATE,
    value DOUBLE PRECISION,
    unit TEXT,
    laterality TEXT,
    span_start BIGINT,
    span_end BIGINT,
    sentence_start BIGINT,
    snippet TEXT,
    modifiers TEXT,
    is_current BOOLEAN NOT NULL,
    first_seen_on DATE NOT NULL,
    last_seen_on DATE NOT NULL,
    first_run_id TEXT NOT NULL,
    last_run_id TEXT NOT NULL,
    PRIMARY KEY (item_id, evidence_key)
);

-- one row per reviewer action, append-only; seq orders the decisions of one item
CREATE TABLE review_decision (
    decision_id TEXT PRIMARY KEY,
    item_id TEXT NOT NULL REFERENCES worklist_item (item_id),
    seq INTEGER NOT NULL,
    action TEXT NOT NULL,
    reason TEXT,
    comment TEXT,
    snooze_until DATE,
    decided_by TEXT NOT NULL,
    decided_at TIMESTAMP NOT NULL,
    item_as_of DATE NOT NULL,
    status_before TEXT NOT NULL,
    CONSTRAINT uq_review_decision_item_seq UNIQUE (item_id, seq)
);

-- one row per review-app account
CREATE TABLE app_user (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    password_changed_at TIMESTAMP NOT NULL
);

-- one row per signed-in browser session; only a hash of the cookie token is stored
CREATE TABLE app_session (
    session_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES app_user (username),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);

-- one row per audited view or change (who, what, when); detail is PHI-free JSON
CREATE TABLE audit_log (
    audit_id TEXT PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    username TEXT,
    client TEXT,
    action TEXT NOT NULL,
    target_type TEXT,
    target_id TEXT,
    detail TEXT
);

CREATE INDEX ix_audit_log_at ON audit_log (at);
CREATE INDEX ix_audit_log_action_at ON audit_log (action, at);
