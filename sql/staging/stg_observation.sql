-- stg_observation: one row per Observation x code.coding, plus one row per
-- component x component.code.coding carrying the component's own value (ABI per leg often
-- arrives as components). effective_on = effectiveDateTime, else effectivePeriod.start, else
-- effectiveInstant; NULL when absent (time-windowed criteria skip and count those).
-- unit is UCUM, or 'unit_unrecognized' (never compared numerically downstream), or NULL when
-- there is no quantity. laterality: a component's from its own code's words, else the
-- Observation's bodySite; a top-level row's from its bodySite, else its code's words ("R ABI",
-- "TBI (Toe/Brachial Index) L"). panel_system / panel_code / panel_display: on component rows,
-- the parent Observation's first coding and its display (or code.text); NULL on top-level rows.
-- A code (or component code) with text only gives one row with NULL system and code.
-- Input: stg_input (the caller's view of staged resources). Row order: ROW_ORDER in
-- pipelines/ingest/stage.py (applied on reading).
CREATE OR REPLACE TABLE stg_observation AS
-- NOT MATERIALIZED: both branches below read obs; DuckDB would otherwise write every
-- Observation's fields to a temporary result first (a full run of 20,000 patients: 6.1 s
-- instead of 4.4 s). With the two cuts below (components only, laterality only with a
-- bodySite) the bench cohort's statement took 4.0 s against 5.4 s, the same rows.
WITH obs AS NOT MATERIALIZED (
    SELECT
        res.*,
        coalesce(
            fhir_date(res.effectivedatetime),
            fhir_date(res.effectiveperiod.start),
            fhir_date(res.effectiveinstant)
        ) AS effective_on,
        -- No bodySite, no laterality (laterality_of would only match its patterns against '').
        CASE WHEN res.bodysite IS NOT NULL THEN laterality_of(
            list_transform(res.bodysite.coding, lambda c: c.code),
            concat_ws(' ', res.bodysite.text, list_aggregate(
                list_transform(res.bodysite.coding, lambda c: c.display), 'string_agg', ' '
            ))
        ) END AS site_laterality,
        ref_id(res.encounter.reference, 'Encounter') AS encounter_id
    FROM stg_input AS res
    WHERE res.resourcetype = 'Observation'
),

top_level AS (
    SELECT
        obs.patient_id,
        obs.source_ref,
        obs.status,
        obs.effective_on,
        unnest(codings_or_null(obs.code)) AS coding,
        obs.code.text AS code_text,
        obs.valuequantity AS qty,
        coalesce(
            obs.valuestring, obs.valuecodeableconcept.text,
            obs.valuecodeableconcept.coding[1].display
        ) AS value_str,
        coalesce(obs.site_laterality, laterality_of([], concat_ws(' ', obs.code.text, list_aggregate(
            list_transform(obs.code.coding, lambda c: c.display), 'string_agg', ' '
        )))) AS laterality,
        obs.encounter_id
    FROM obs
),

components AS (
    SELECT
        obs.patient_id,
        obs.source_ref,
        obs.status,
        obs.effective_on,
        obs.site_laterality,
        obs.encounter_id,
        obs.code.coding[1].system AS panel_system,
        obs.code.coding[1].code AS panel_code,
        coalesce(obs.code.coding[1].display, obs.code.text) AS panel_display,
        unnest(obs.component) AS comp
    FROM obs
    -- obs is not materialised: without this filter its dates and laterality were computed
    -- again for every Observation, not only those with components.
    WHERE len(obs.component) > 0
),

component_rows AS (
    SELECT
        components.patient_id,
        components.source_ref,
        components.status,
        components.effective_on,
        unnest(codings_or_null(components.comp.code)) AS coding,
        components.comp.code.text AS code_text,
        components.comp.valuequantity AS qty,
        coalesce(
            components.comp.valuestring, components.comp.valuecodeableconcept.text,
            components.comp.valuecodeableconcept.coding[1].display
        ) AS value_str,
        coalesce(
            laterality_of(
                [],
                concat_ws(' ', components.comp.code.text, list_aggregate(
                    list_transform(components.comp.code.coding, lambda c: c.display), 'string_agg', ' '
                ))
            ),
            components.site_laterality
        ) AS laterality,
        components.encounter_id,
        components.panel_system,
        components.panel_code,
        components.panel_display
    FROM components
),

all_rows AS (
    SELECT * FROM top_level
    UNION ALL BY NAME
    SELECT * FROM component_rows
)

SELECT
    all_rows.patient_id AS patient_id,
    all_rows.source_ref AS source_ref,
    all_rows.status AS status,
    all_rows.coding.system AS system,
    all_rows.coding.code AS code,
    coalesce(all_rows.coding.display, all_rows.code_text) AS display,
    all_rows.effective_on AS effective_on,
    -- Landed as text; stg_resource_outcome quarantined every value that is not a finite decimal.
    try_cast(all_rows.qty.value AS DOUBLE) AS value_num,
    all_rows.value_str AS value_str,
    CASE
        WHEN all_rows.qty IS NULL OR all_rows.qty.value IS NULL THEN NULL
        ELSE ucum_unit(all_rows.qty.unit, all_rows.qty.system, all_rows.qty.code)
    END AS unit,
    all_rows.laterality AS laterality,
    all_rows.encounter_id AS encounter_id,
    all_rows.panel_system AS panel_system,
    all_rows.panel_code AS panel_code,
    all_rows.panel_display AS panel_display
FROM all_rows;
