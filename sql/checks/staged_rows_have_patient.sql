-- Every staged clinical row names a patient and a "Type/id" source_ref of the right type.
SELECT 'stg_condition' AS table_name, stg.source_ref FROM stg_condition AS stg
WHERE stg.patient_id IS NULL OR NOT regexp_full_match(stg.source_ref, 'Condition/[^/]+')
UNION ALL
SELECT 'stg_observation', stg.source_ref FROM stg_observation AS stg
WHERE stg.patient_id IS NULL OR NOT regexp_full_match(stg.source_ref, 'Observation/[^/]+')
UNION ALL
SELECT 'stg_procedure', stg.source_ref FROM stg_procedure AS stg
WHERE stg.patient_id IS NULL OR NOT regexp_full_match(stg.source_ref, 'Procedure/[^/]+')
UNION ALL
SELECT 'stg_medication', stg.source_ref FROM stg_medication AS stg
WHERE stg.patient_id IS NULL OR NOT regexp_full_match(stg.source_ref, 'MedicationRequest/[^/]+')
UNION ALL
SELECT 'stg_encounter', stg.source_ref FROM stg_encounter AS stg
WHERE stg.patient_id IS NULL OR NOT regexp_full_match(stg.source_ref, 'Encounter/[^/]+')
UNION ALL
SELECT 'stg_note', stg.source_ref FROM stg_note AS stg
WHERE stg.patient_id IS NULL
    OR NOT regexp_full_match(stg.source_ref, '(DocumentReference|DiagnosticReport)/[^/]+');
