-- stg_medication_code: one row per Medication x code.coding (one row with NULL code when the
-- Medication carries text only). A lookup without patients: MedicationRequests that name a
-- Medication resource (stg_medication.medication_ref) take its codings from here
-- (pipelines/ingest/medication_refs.py). display = the coding's display, else code.text.
-- Input: stg_input (the caller's view of staged resources). Row order: ROW_ORDER in
-- pipelines/ingest/stage.py (applied on reading).
CREATE OR REPLACE TABLE stg_medication_code AS
WITH exploded AS (
    SELECT
        res.*,
        unnest(codings_or_null(res.code)) AS coding
    FROM stg_input AS res
    WHERE res.resourcetype = 'Medication'
)

SELECT
    exploded.source_ref AS source_ref,
    exploded.coding.system AS system,
    exploded.coding.code AS code,
    coalesce(exploded.coding.display, exploded.code.text) AS display
FROM exploded;
