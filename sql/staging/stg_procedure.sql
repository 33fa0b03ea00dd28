-- stg_procedure: one row per Procedure x code.coding (one row with NULL code when the
-- Procedure carries text only). performed_on = performedDateTime, else performedPeriod.start.
-- laterality from bodySite (as stg_condition reads it), else from a qualifier postcoordinated
-- in the code.
-- Input: stg_input (the caller's view of staged resources). Row order: ROW_ORDER in
-- pipelines/ingest/stage.py (applied on reading).
CREATE OR REPLACE TABLE stg_procedure AS
WITH exploded AS (
    SELECT
        res.*,
        unnest(codings_or_null(res.code)) AS coding,
        sites_laterality(res.bodysites, res.code) AS laterality
    FROM stg_input AS res
    WHERE res.resourcetype = 'Procedure'
)

SELECT
    exploded.patient_id AS patient_id,
    exploded.source_ref AS source_ref,
    exploded.status AS status,
    exploded.coding.system AS system,
    exploded.coding.code AS code,
    code_norm(exploded.coding.code) AS code_norm,
    coalesce(exploded.coding.display, exploded.code.text) AS display,
    coalesce(
        fhir_date(exploded.performeddatetime), fhir_date(exploded.performedperiod.start)
    ) AS performed_on,
    ref_id(exploded.encounter.reference, 'Encounter') AS encounter_id,
    exploded.laterality AS laterality
FROM exploded;
