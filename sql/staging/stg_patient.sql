-- stg_patient: one row per Patient id (latest version; entered-in-error dropped upstream).
CREATE OR REPLACE TABLE stg_patient AS
SELECT
    res.id AS patient_id,
    fhir_date(res.birthdate) AS birth_date,
    res.gender AS gender
FROM stg_resource AS res
WHERE res.resourcetype = 'Patient'
ORDER BY patient_id;
