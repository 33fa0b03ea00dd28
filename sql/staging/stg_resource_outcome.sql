-- stg_resource_outcome: one row per landed resource (raw_resource row), with what staging did
-- with it: quarantined (first failing structural check, or a failed R4B validation from
-- validation_quarantine), duplicate (an older or repeated version of an id), entered_in_error
-- (latest version was entered in error), no_patient (subject absent or not a Patient where R4
-- allows that; a Medication has no patient and stages as a lookup), ignored (a type we do not stage) or staged.
-- Narrow on purpose (keys and outcome only): the wide fields stay in raw_resource, and
-- stg_resource (at the end) is the raw rows of staged types less those that did not stage.
-- Known lines (records the mirror already holds, not parsed; pipelines/ingest/known_lines.py) are
-- not in raw_resource. Those whose id also landed another way are in known_resource, with the
-- outcome they had (staged or ignored) and their meta: they take part in the dedupe and get a
-- row here with known = true. The others keep their outcome and are counted apart.
-- Two steps: every row gets the outcome it would have as the only version of its id (one pass
-- over raw_resource, nothing but the outcome's own columns carried), then the rows of ids that
-- landed more than once are ranked and all but the latest set to duplicate. A first run lands
-- 3.5 million rows and few ids twice: ranking every row inside one statement, with the rows'
-- meta carried through, held them past the 1 GB memory_limit and spilled about 1 GB to disk
-- (7.2 s against 3.7 s for the bench cohort, docs/performance.md).
-- Inputs: raw_resource, unknown_resource_type(resource_type),
--         validation_quarantine(src, src_pos, reason, detail),
--         implausible_value(src, src_pos, detail),
--         known_resource(src, src_pos, resourcetype, id, version_id, last_updated,
--                        known_outcome).
CREATE OR REPLACE TABLE stg_resource_outcome AS
WITH checked AS (
    SELECT
        raw.src,
        raw.src_pos,
        raw.src_kind,
        raw.resourcetype,
        raw.id,
        patient_of(raw.resourcetype, raw.id, raw.subject.reference) AS own_patient,
        raw.status = 'entered-in-error' OR raw.docstatus = 'entered-in-error'
            OR list_contains(
                list_transform(raw.verificationstatus.coding, lambda c: c.code), 'entered-in-error'
            ) AS in_error,
        CASE
            WHEN raw.resourcetype IN (SELECT u.resource_type FROM unknown_resource_type AS u)
                THEN 'unsupported_type'
            -- Resource.id is optional in R4; staging needs it for source_ref, so only
            -- staged types are quarantined without one.
            WHEN nullif(trim(raw.id), '') IS NULL AND is_staged_type(raw.resourcetype)
                THEN 'missing_id'
            -- subject is 1..1 for these; a display-only Reference is valid (no_patient later).
            WHEN raw.resourcetype IN ('Condition', 'Procedure', 'MedicationRequest')
                AND nullif(trim(raw.subject.reference), '') IS NULL
                AND nullif(trim(raw.subject.display), '') IS NULL THEN 'missing_subject'
            WHEN is_bad_fhir_date(raw.birthdate) OR is_bad_fhir_date(raw.onsetdatetime)
                OR is_bad_fhir_date(raw.onsetperiod.start) OR is_bad_fhir_date(raw.recordeddate)
                OR is_bad_fhir_date(raw.effectivedatetime)
                OR is_bad_fhir_date(raw.effectiveperiod.start)
                OR is_bad_fhir_date(raw.effectiveinstant) OR is_bad_fhir_date(raw.issued)
                OR is_bad_fhir_date(raw.performeddatetime)
                OR is_bad_fhir_date(raw.performedperiod.start)
                OR is_bad_fhir_date(raw.authoredon) OR is_bad_fhir_date(raw.date)
                OR is_bad_fhir_date(raw.context.period.start)
                OR is_bad_fhir_date(raw.period.start) OR is_bad_fhir_date(raw.period."end")
                OR is_bad_fhir_date(raw.abatementdatetime)
                OR is_bad_fhir_date(raw.abatementperiod.start)
                OR is_bad_fhir_date(raw.abatementperiod."end") THEN 'invalid_date'
        END AS structural_reason
    FROM raw_resource AS raw
),

with_validation AS (
    SELECT
        checked.*,
        coalesce(
            checked.structural_reason,
            CASE WHEN iv.detail IS NOT NULL THEN 'implausible_value' END,
            vq.reason
        ) AS quarantine_reason,
        CASE
            WHEN checked.structural_reason = 'unsupported_type' THEN 'resourceType not in FHIR R4'
            WHEN checked.structural_reason = 'missing_id' THEN 'id: missing'
            WHEN checked.structural_reason = 'missing_subject' THEN 'subject: missing'
            WHEN checked.structural_reason = 'invalid_date' THEN 'a date field is not a FHIR date'
            WHEN iv.detail IS NOT NULL THEN iv.detail
            ELSE vq.detail
        END AS quarantine_detail
    FROM checked
    LEFT JOIN validation_quarantine AS vq
        ON checked.src = vq.src AND checked.src_pos = vq.src_pos
    -- Non-finite or physiologically impossible quantities (pipelines/value_checks.py).
    LEFT JOIN implausible_value AS iv
        ON checked.src = iv.src AND checked.src_pos = iv.src_pos
)

SELECT
    v.src,
    v.src_pos,
    v.src_kind,
    v.resourcetype,
    v.id,
    false AS known,
    CASE
        WHEN v.quarantine_reason IS NOT NULL THEN 'quarantined'
        WHEN v.in_error THEN 'entered_in_error'
        WHEN NOT is_staged_type(v.resourcetype) THEN 'ignored'
        WHEN v.own_patient IS NULL AND NOT is_patientless_type(v.resourcetype) THEN 'no_patient'
        ELSE 'staged'
    END AS outcome,
    v.quarantine_reason,
    v.quarantine_detail
FROM with_validation AS v
UNION ALL BY NAME
SELECT
    k.src,
    k.src_pos,
    'ndjson' AS src_kind,
    k.resourcetype,
    k.id,
    true AS known,
    k.known_outcome AS outcome,
    NULL::VARCHAR AS quarantine_reason,
    NULL::VARCHAR AS quarantine_detail
FROM known_resource AS k;

-- The rows of ids landed more than once that lose to a later version of theirs: by versionId,
-- then lastUpdated, then the later file and record.
CREATE OR REPLACE TEMP TABLE outcome_duplicate AS
WITH dup_key AS (
    SELECT
        o.resourcetype,
        o.id
    FROM stg_resource_outcome AS o
    WHERE o.outcome <> 'quarantined'
    GROUP BY o.resourcetype, o.id
    HAVING count(*) > 1
),

dup AS (
    SELECT
        o.src,
        o.src_pos,
        o.resourcetype,
        o.id
    FROM stg_resource_outcome AS o
    SEMI JOIN dup_key
        ON o.resourcetype = dup_key.resourcetype
        AND o.id IS NOT DISTINCT FROM dup_key.id
    WHERE o.outcome <> 'quarantined'
),

versioned AS (
    SELECT
        dup.*,
        raw.meta.versionid AS version_id,
        raw.meta.lastupdated AS last_updated
    FROM dup
    INNER JOIN raw_resource AS raw
        ON dup.src = raw.src AND dup.src_pos = raw.src_pos
    UNION ALL BY NAME
    SELECT
        dup.*,
        k.version_id,
        k.last_updated
    FROM dup
    INNER JOIN known_resource AS k
        ON dup.src = k.src AND dup.src_pos = k.src_pos
)

SELECT
    versioned.src,
    versioned.src_pos
FROM versioned
QUALIFY row_number() OVER (
    PARTITION BY versioned.resourcetype, versioned.id
    ORDER BY
        try_cast(versioned.version_id AS BIGINT) DESC NULLS LAST,
        try_cast(versioned.last_updated AS TIMESTAMPTZ) DESC NULLS LAST,
        versioned.src DESC,
        versioned.src_pos DESC
) > 1;

UPDATE stg_resource_outcome AS o
SET outcome = 'duplicate'
FROM outcome_duplicate AS d
WHERE o.src = d.src AND o.src_pos = d.src_pos;

DROP TABLE outcome_duplicate;

-- stg_resource: one row per staged resource (outcome = 'staged'): raw fields plus
-- patient_id (as the outcome above decides no_patient) and source_ref.
-- The raw rows of staged types less the few that did not stage (an anti join on a small
-- table), not every raw row joined with its outcome row: at 40,000 patients that join's hash
-- table of 7 million outcomes with their patient_id and source_ref spilled, and flattening
-- the Observations through it took 13 s against 6 s this way (docs/performance.md). A raw row
-- of a staged type is never 'ignored'; known rows (not in raw_resource) take no part.
CREATE OR REPLACE VIEW stg_resource AS
SELECT
    raw.*,
    patient_of(raw.resourcetype, raw.id, raw.subject.reference) AS patient_id,
    raw.resourcetype || '/' || raw.id AS source_ref
FROM raw_resource AS raw
ANTI JOIN (
    SELECT
        o.src,
        o.src_pos,
        o.resourcetype
    FROM stg_resource_outcome AS o
    WHERE o.outcome NOT IN ('staged', 'ignored') AND NOT o.known
) AS unstaged
    ON raw.src = unstaged.src
    AND raw.src_pos = unstaged.src_pos
    AND raw.resourcetype = unstaged.resourcetype
WHERE is_staged_type(raw.resourcetype);
