-- stg_condition: one row per Condition x code.coding (one row with NULL code when the
-- Condition carries text only). recorded_on = onset (dateTime or period start), else
-- recordedDate; NULL when neither is present (its Encounter, encounter_id, may still date it).
-- laterality from bodySite (SNOMED CT qualifiers in codings, extensions or postcoordinated
-- expressions, then words), else from a qualifier postcoordinated in the code itself.
-- abated_on = abatementDateTime, else abatementPeriod end, else its start, else
-- abatementString when it is a date.
-- Input: stg_input (the caller's view of staged resources). Row order: ROW_ORDER in
-- pipelines/ingest/stage.py (applied on reading).
CREATE OR REPLACE TABLE stg_condition AS
WITH exploded AS (
    SELECT
        res.*,
        unnest(codings_or_null(res.code)) AS coding,
        sites_laterality(res.bodysites, res.code) AS laterality
    FROM stg_input AS res
    WHERE res.resourcetype = 'Condition'
)

SELECT
    exploded.patient_id AS patient_id,
    exploded.source_ref AS source_ref,
    exploded.coding.system AS system,
    exploded.coding.code AS code,
    code_norm(exploded.coding.code) AS code_norm,
    coalesce(exploded.coding.display, exploded.code.text) AS display,
    exploded.clinicalstatus.coding[1].code AS clinical_status,
    exploded.verificationstatus.coding[1].code AS verification_status,
    coalesce(
        fhir_date(exploded.onsetdatetime),
        fhir_date(exploded.onsetperiod.start),
        fhir_date(exploded.recordeddate)
    ) AS recorded_on,
    ref_id(exploded.encounter.reference, 'Encounter') AS encounter_id,
    exploded.laterality AS laterality,
    coalesce(
        fhir_date(exploded.abatementdatetime),
        fhir_date(exploded.abatementperiod."end"),
        fhir_date(exploded.abatementperiod.start),
        loose_date(exploded.abatementstring)
    ) AS abated_on
FROM exploded;
