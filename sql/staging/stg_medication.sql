-- stg_medication: one row per MedicationRequest x coding of the drug it names:
-- medicationCodeableConcept, else the code of the Medication its medicationReference points to
-- inside the request ('#id' in contained). Text only: one row with NULL code, display the text.
-- A request that names a Medication resource (medicationReference 'Medication/<id>') gets one
-- row with NULL code, display = the reference's display, and medication_ref = 'Medication/<id>';
-- pipelines/ingest/medication_refs.py replaces it with that Medication's codings (stg_medication_code)
-- when the source holds it.
-- Input: stg_input (the caller's view of staged resources). Row order: ROW_ORDER in
-- pipelines/ingest/stage.py (applied on reading).
CREATE OR REPLACE TABLE stg_medication AS
WITH requests AS (
    SELECT
        res.*,
        coalesce(
            res.medicationcodeableconcept,
            CASE WHEN starts_with(res.medicationreference.reference, '#') THEN list_filter(
                res.contained,
                lambda c: c.resourcetype = 'Medication'
                AND c.id = substr(res.medicationreference.reference, 2)
            )[1].code END
        ) AS concept,
        ref_id(res.medicationreference.reference, 'Medication') AS medication_id
    FROM stg_input AS res
    WHERE res.resourcetype = 'MedicationRequest'
),

exploded AS (
    SELECT
        requests.*,
        unnest(codings_or_null(requests.concept)) AS coding
    FROM requests
)

SELECT
    exploded.patient_id AS patient_id,
    exploded.source_ref AS source_ref,
    exploded.status AS status,
    exploded.coding.system AS system,
    exploded.coding.code AS code,
    coalesce(
        exploded.coding.display, exploded.concept.text, exploded.medicationreference.display
    ) AS display,
    fhir_date(exploded.authoredon) AS authored_on,
    ref_id(exploded.encounter.reference, 'Encounter') AS encounter_id,
    CASE
        WHEN exploded.concept IS NULL AND exploded.medication_id IS NOT NULL
            THEN 'Medication/' || exploded.medication_id
    END AS medication_ref
FROM exploded;
