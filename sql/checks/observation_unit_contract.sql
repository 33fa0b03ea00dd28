-- A numeric observation value always carries a unit (UCUM or 'unit_unrecognized'), and a
-- row without a numeric value carries none.
SELECT stg.source_ref, stg.code, stg.unit
FROM stg_observation AS stg
WHERE (stg.value_num IS NOT NULL AND stg.unit IS NULL)
    OR (stg.value_num IS NULL AND stg.unit IS NOT NULL);
