-- stg_patient has one row per patient_id.
SELECT
    stg.patient_id,
    count(*) AS n_rows
FROM stg_patient AS stg
GROUP BY stg.patient_id
HAVING count(*) > 1;
