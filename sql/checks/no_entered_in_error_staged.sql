-- entered-in-error resources never reach staging.
SELECT 'stg_observation' AS table_name, stg.source_ref FROM stg_observation AS stg
WHERE stg.status = 'entered-in-error'
UNION ALL
SELECT 'stg_procedure', stg.source_ref FROM stg_procedure AS stg
WHERE stg.status = 'entered-in-error'
UNION ALL
SELECT 'stg_medication', stg.source_ref FROM stg_medication AS stg
WHERE stg.status = 'entered-in-error'
UNION ALL
SELECT 'stg_encounter', stg.source_ref FROM stg_encounter AS stg
WHERE stg.status = 'entered-in-error'
UNION ALL
SELECT 'stg_condition', stg.source_ref FROM stg_condition AS stg
WHERE stg.verification_status = 'entered-in-error';
