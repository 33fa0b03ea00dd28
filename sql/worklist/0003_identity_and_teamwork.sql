-- Worklist store, schema version 3: patient identity, assignment, comments.
--
-- Identity (name, birth date, sex, identifiers) is PHI kept here only, like evidence snippets:
-- the review app shows it, logs and artifacts never carry it. The nightly publish refreshes the
-- rows of the patients it evaluated that have a worklist item. Portable between SQLite and
-- PostgreSQL.

-- one row per patient with a worklist item
CREATE TABLE patient (
    patient_id TEXT PRIMARY KEY,
    name TEXT,
    birth_date DATE,
    gender TEXT,
    updated_at TIMESTAMP NOT NULL
);

-- one row per patient x Patient.identifier; the review app picks the MRN among them
-- (VASCREEN_MRN_SYSTEM, else the identifier of type MR)
CREATE TABLE patient_identifier (
    patient_id TEXT NOT NULL REFERENCES patient (patient_id),
    ordinal INTEGER NOT NULL,
    system TEXT,
    value TEXT NOT NULL,
    type_code TEXT,
    PRIMARY KEY (patient_id, ordinal)
);

CREATE INDEX ix_patient_identifier_value ON patient_identifier (value);

-- who works an item; changed by the review app only (publish never writes it), audited
ALTER TABLE worklist_item ADD COLUMN assigned_to TEXT;
ALTER TABLE worklist_item ADD COLUMN assigned_at TIMESTAMP;

CREATE INDEX ix_worklist_item_assigned_to ON worklist_item (assigned_to);

-- one row per comment recorded without a status change, append-only
CREATE TABLE review_comment (
    comment_id TEXT PRIMARY KEY,
    item_id TEXT NOT NULL REFERENCES worklist_item (item_id),
    comment TEXT NOT NULL,
    commented_by TEXT NOT NULL,
    commented_at TIMESTAMP NOT NULL
);

CREATE INDEX ix_review_comment_item ON review_comment (item_id);
CREATE INDEX ix_audit_log_target ON audit_log (target_id);
