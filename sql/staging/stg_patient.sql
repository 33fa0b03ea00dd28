-- stg_patient: one row per Patient id (latest version; entered-in-error dropped upstream).
-- `name` and `identifiers` are for the review app (identity lives in the store only): the
-- official name (else usual, else the first) as text, and every identifier with a value.
-- Input: stg_input (the caller's view of staged resources). Row order: ROW_ORDER in
-- pipelines/ingest/stage.py (applied on reading).
CREATE OR REPLACE TABLE stg_patient AS
SELECT
    res.id AS patient_id,
    fhir_date(res.birthdate) AS birth_date,
    res.gender AS gender,
    human_name(
        coalesce(
            list_filter(res.name, lambda n: n.use = 'official')[1],
            list_filter(res.name, lambda n: n.use = 'usual')[1],
            res.name[1]
        )
    ) AS name,
    list_transform(
        list_filter(res.identifier, lambda i: nullif(trim(i.value), '') IS NOT NULL),
        lambda i: {
            'system': i.system,
            'value': trim(i.value),
            'type_code': i.type.coding[1].code
        }
    ) AS identifiers
FROM stg_input AS res
WHERE res.resourcetype = 'Patient';
