-- stg_resource_outcome: one row per landed resource (raw_resource row), with what staging did
-- with it: quarantined (first failing structural check, or a failed R4B validation from
-- validation_quarantine), duplicate (an older or repeated version of an id), entered_in_error
-- (latest version was entered in error), no_patient (subject absent or not a Patient where R4
-- allows that), ignored (a type we do not stage) or staged.
-- Narrow on purpose (keys and outcome only): the wide fields stay in raw_resource and
-- stg_resource joins them back for staged rows.
-- Known lines (records the mirror already holds, not parsed; pipelines/known_lines.py) are
-- not in raw_resource. Those whose id also landed another way are in known_resource, with the
-- outcome they had (staged or ignored) and their meta: they take part in the dedupe and get a
-- row here with known = true. The others keep their outcome and are counted apart.
-- Inputs: raw_resource, unknown_resource_type(resource_type),
--         validation_quarantine(src, src_pos, reason, detail),
--         known_resource(src, src_pos, resourcetype, id, version_id, last_updated, patient_id,
--                        known_outcome).
CREATE OR REPLACE TABLE stg_resource_outcome AS
WITH checked AS (
    SELECT
        raw.*,
        patient_ref(raw.subject.reference) AS subject_patient,
        CASE
            WHEN raw.resourcetype IN (SELECT u.resource_type FROM unknown_resource_type AS u)
                THEN 'unsupported_type'
            -- Resource.id is optional in R4; staging needs it for source_ref, so only
            -- staged types are quarantined without one.
            WHEN nullif(trim(raw.id), '') IS NULL AND raw.resourcetype IN (
                'Patient', 'Condition', 'Observation', 'Procedure', 'MedicationRequest',
                'DocumentReference', 'DiagnosticReport'
            ) THEN 'missing_id'
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
                OR is_bad_fhir_date(raw.context.period.start) THEN 'invalid_date'
        END AS structural_reason
    FROM raw_resource AS raw
),

with_validation AS (
    SELECT
        checked.*,
        coalesce(checked.structural_reason, vq.reason) AS quarantine_reason,
        CASE
            WHEN checked.structural_reason = 'unsupported_type' THEN 'resourceType not in FHIR R4'
            WHEN checked.structural_reason = 'missing_id' THEN 'id: missing'
            WHEN checked.structural_reason = 'missing_subject' THEN 'subject: missing'
            WHEN checked.structural_reason = 'invalid_date' THEN 'a date field is not a FHIR date'
            ELSE vq.detail
        END AS quarantine_detail
    FROM checked
    LEFT JOIN validation_quarantine AS vq
        ON checked.src = vq.src AND checked.src_pos = vq.src_pos
),

-- Rows that can stage: parsed rows that passed the checks, and known rows.
candidate AS (
    SELECT
        with_validation.*,
        NULL::VARCHAR AS known_outcome,
        NULL::VARCHAR AS known_patient_id
    FROM with_validation
    WHERE with_validation.quarantine_reason IS NULL
    UNION ALL BY NAME
    SELECT
        known_resource.src,
        known_resource.src_pos,
        'ndjson' AS src_kind,
        known_resource.resourcetype,
        known_resource.id,
        {'versionId': known_resource.version_id, 'lastUpdated': known_resource.last_updated}
            AS meta,
        known_resource.known_outcome,
        known_resource.patient_id AS known_patient_id
    FROM known_resource
),

-- Only ids landed more than once need ranking: the window runs over those rows alone.
dup_key AS (
    SELECT
        candidate.resourcetype,
        candidate.id
    FROM candidate
    GROUP BY candidate.resourcetype, candidate.id
    HAVING count(*) > 1
),

ranked AS (
    SELECT
        candidate.*,
        row_number() OVER (
            PARTITION BY candidate.resourcetype, candidate.id
            ORDER BY
                try_cast(candidate.meta.versionid AS BIGINT) DESC NULLS LAST,
                try_cast(candidate.meta.lastupdated AS TIMESTAMPTZ) DESC NULLS LAST,
                candidate.src DESC,
                candidate.src_pos DESC
        ) AS version_rank
    FROM candidate
    SEMI JOIN dup_key
        ON candidate.resourcetype = dup_key.resourcetype
        AND candidate.id IS NOT DISTINCT FROM dup_key.id
    UNION ALL BY NAME
    SELECT
        candidate.*,
        1 AS version_rank
    FROM candidate
    ANTI JOIN dup_key
        ON candidate.resourcetype = dup_key.resourcetype
        AND candidate.id IS NOT DISTINCT FROM dup_key.id
)

SELECT
    ranked.src,
    ranked.src_pos,
    ranked.src_kind,
    ranked.resourcetype,
    ranked.id,
    CASE WHEN ranked.known_outcome IS NOT NULL THEN ranked.known_patient_id
        WHEN ranked.resourcetype = 'Patient' THEN ranked.id
        ELSE ranked.subject_patient
    END AS patient_id,
    ranked.resourcetype || '/' || ranked.id AS source_ref,
    ranked.known_outcome IS NOT NULL AS known,
    CASE
        WHEN ranked.version_rank > 1 THEN 'duplicate'
        WHEN ranked.known_outcome IS NOT NULL THEN ranked.known_outcome
        WHEN ranked.status = 'entered-in-error' OR ranked.docstatus = 'entered-in-error'
            OR list_contains(
                list_transform(ranked.verificationstatus.coding, lambda c: c.code), 'entered-in-error'
            ) THEN 'entered_in_error'
        WHEN ranked.resourcetype NOT IN (
            'Patient', 'Condition', 'Observation', 'Procedure', 'MedicationRequest',
            'DocumentReference', 'DiagnosticReport'
        ) THEN 'ignored'
        WHEN ranked.resourcetype <> 'Patient' AND ranked.subject_patient IS NULL
            THEN 'no_patient'
        ELSE 'staged'
    END AS outcome,
    NULL::VARCHAR AS quarantine_reason,
    NULL::VARCHAR AS quarantine_detail
FROM ranked
UNION ALL BY NAME
SELECT
    with_validation.src,
    with_validation.src_pos,
    with_validation.src_kind,
    with_validation.resourcetype,
    with_validation.id,
    with_validation.quarantine_reason,
    with_validation.quarantine_detail,
    NULL::VARCHAR AS patient_id,
    with_validation.resourcetype || '/' || coalesce(with_validation.id, '') AS source_ref,
    false AS known,
    'quarantined' AS outcome
FROM with_validation
WHERE with_validation.quarantine_reason IS NOT NULL;

-- stg_resource: one row per staged resource (outcome = 'staged'): raw fields plus
-- patient_id and source_ref.
CREATE OR REPLACE VIEW stg_resource AS
SELECT
    raw.*,
    outcome.patient_id,
    outcome.source_ref
FROM raw_resource AS raw
INNER JOIN stg_resource_outcome AS outcome
    ON raw.src = outcome.src AND raw.src_pos = outcome.src_pos
WHERE outcome.outcome = 'staged';
