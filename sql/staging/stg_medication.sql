-- stg_medication: one row per MedicationRequest x medicationCodeableConcept.coding.
-- Requests that name a Medication resource by reference have no coding here and get no row.
CREATE OR REPLACE TABLE stg_medication AS
WITH exploded AS (
    SELECT
        res.*,
        unnest(res.medicationcodeableconcept.coding) AS coding
    FROM stg_resource AS res
    WHERE res.resourcetype = 'MedicationRequest'
)

SELECT
    exploded.patient_id AS patient_id,
    exploded.source_ref AS source_ref,
    exploded.status AS status,
    exploded.coding.system AS system,
    exploded.coding.code AS code,
    coalesce(exploded.coding.display, exploded.medicationcodeableconcept.text) AS display,
    fhir_date(exploded.authoredon) AS authored_on
FROM exploded
ORDER BY source_ref, system, code;
