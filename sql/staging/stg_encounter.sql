-- stg_encounter: one row per Encounter (latest version; entered-in-error dropped upstream).
-- start_on / end_on = period.start / period.end as dates; NULL when absent (an Encounter still
-- in progress has no end). Conditions and other rows name their Encounter by encounter_id.
-- Input: stg_input (the caller's view of staged resources). Row order: ROW_ORDER in
-- pipelines/ingest/stage.py (applied on reading).
CREATE OR REPLACE TABLE stg_encounter AS
SELECT
    res.patient_id AS patient_id,
    res.source_ref AS source_ref,
    res.id AS encounter_id,
    res.status AS status,
    fhir_date(res.period.start) AS start_on,
    fhir_date(res.period."end") AS end_on
FROM stg_input AS res
WHERE res.resourcetype = 'Encounter';
