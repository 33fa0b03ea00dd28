-- code_norm is the upper-cased code with dots and spaces removed.
SELECT stg.source_ref, stg.code, stg.code_norm FROM stg_condition AS stg
WHERE stg.code_norm IS DISTINCT FROM upper(replace(replace(stg.code, '.', ''), ' ', ''))
UNION ALL
SELECT stg.source_ref, stg.code, stg.code_norm FROM stg_procedure AS stg
WHERE stg.code_norm IS DISTINCT FROM upper(replace(replace(stg.code, '.', ''), ' ', ''));
