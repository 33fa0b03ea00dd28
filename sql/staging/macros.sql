-- Shared staging macros (DuckDB). Shape only: no clinical thresholds or code lists.

-- FHIR date / dateTime / instant -> DATE as written (the local date the source recorded,
-- no time zone shift). Partial dates become the first day: '2019' -> 2019-01-01,
-- '2019-04' -> 2019-04-01. NULL when absent or malformed.
CREATE OR REPLACE MACRO fhir_date(s) AS
    CASE
        WHEN s IS NULL THEN NULL
        WHEN NOT regexp_full_match(
            s,
            '\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])'
            || '(T([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?)?)?'
        ) THEN NULL
        WHEN length(s) = 4 THEN try_cast(s || '-01-01' AS DATE)
        WHEN length(s) = 7 THEN try_cast(s || '-01' AS DATE)
        ELSE try_cast(left(s, 10) AS DATE)
    END;

-- TRUE when a present date string is not a usable FHIR date (for quarantine).
CREATE OR REPLACE MACRO is_bad_fhir_date(s) AS s IS NOT NULL AND fhir_date(s) IS NULL;

-- ICD-10-CM 'I70.213' and 'I70213', ICD-9-CM '440.21' and '44021' compare equal.
CREATE OR REPLACE MACRO code_norm(c) AS upper(replace(replace(c, '.', ''), ' ', ''));

-- 'Patient/123', 'Patient/123/_history/2', 'https://ehr/fhir/Patient/123', 'urn:uuid:123'
-- -> '123'. References to other types (Group/1, #contained) -> NULL.
CREATE OR REPLACE MACRO patient_ref(ref) AS
    CASE
        WHEN ref LIKE 'urn:uuid:%' THEN nullif(substr(ref, 10), '')
        -- Fast path for the common 'Patient/<id>' (same result as the pattern below).
        WHEN starts_with(ref, 'Patient/') AND strpos(substr(ref, 9), '/') = 0
            THEN nullif(substr(ref, 9), '')
        ELSE nullif(regexp_extract(ref, '(^|/)Patient/([^/]+)(/_history/[^/]+)?$', 2), '')
    END;

-- The patient a landed resource belongs to: a Patient itself, else its subject's Patient id
-- (NULL when the subject is no Patient). stg_resource_outcome and stg_resource both use it.
CREATE OR REPLACE MACRO patient_of(resource_type, id, subject_ref) AS
    CASE WHEN resource_type = 'Patient' THEN id ELSE patient_ref(subject_ref) END;

-- The resource types staging flattens (others are counted and ignored).
CREATE OR REPLACE MACRO is_staged_type(resource_type) AS resource_type IN (
    'Patient', 'Condition', 'Observation', 'Procedure', 'MedicationRequest',
    'DocumentReference', 'DiagnosticReport', 'Encounter'
);

-- Sent unit -> UCUM for the units staging understands; 'unit_unrecognized' otherwise.
-- A UCUM-coded quantity (system http://unitsofmeasure.org with a code) passes through.
-- A value without any unit is a ratio (ABI and TBI are often sent that way) -> '1'.
CREATE OR REPLACE MACRO ucum_unit(unit_text, unit_system, unit_code) AS
    CASE
        WHEN unit_system = 'http://unitsofmeasure.org' AND nullif(trim(unit_code), '') IS NOT NULL
            THEN CASE
                WHEN lower(replace(unit_code, ' ', '')) IN ('mmhg', 'mm[hg]') THEN 'mm[Hg]'
                WHEN unit_code IN ('{ratio}', '{index}', 'ratio') THEN '1'
                ELSE trim(unit_code)
            END
        ELSE CASE lower(replace(replace(coalesce(nullif(trim(unit_code), ''), unit_text, ''), ' ', ''), '_', ''))
            WHEN 'mmhg' THEN 'mm[Hg]'
            WHEN 'mm[hg]' THEN 'mm[Hg]'
            WHEN 'millimeterofmercury' THEN 'mm[Hg]'
            WHEN '' THEN '1'
            WHEN '1' THEN '1'
            WHEN 'ratio' THEN '1'
            WHEN '{ratio}' THEN '1'
            WHEN '{index}' THEN '1'
            WHEN 'index' THEN '1'
            WHEN '%' THEN '%'
            WHEN 'percent' THEN '%'
            WHEN 'kg' THEN 'kg'
            WHEN 'g' THEN 'g'
            WHEN 'cm' THEN 'cm'
            WHEN 'mm' THEN 'mm'
            WHEN 'm' THEN 'm'
            WHEN 'kg/m2' THEN 'kg/m2'
            WHEN 'kg/m^2' THEN 'kg/m2'
            WHEN '/min' THEN '/min'
            WHEN 'bpm' THEN '/min'
            WHEN 'beats/min' THEN '/min'
            WHEN '{beats}/min' THEN '/min'
            WHEN 'mg/dl' THEN 'mg/dL'
            WHEN 'mmol/l' THEN 'mmol/L'
            WHEN 'cel' THEN 'Cel'
            WHEN 'degc' THEN 'Cel'
            WHEN 'a' THEN 'a'
            WHEN 'years' THEN 'a'
            WHEN 'd' THEN 'd'
            WHEN 'days' THEN 'd'
            WHEN 'm/s' THEN 'm/s'
            WHEN 'cm/s' THEN 'cm/s'
            ELSE 'unit_unrecognized'
        END
    END;

-- Laterality from SNOMED CT body-site codes, else from words in the text or display.
CREATE OR REPLACE MACRO laterality_of(codes, words) AS
    CASE
        WHEN list_contains(codes, '51440002') THEN 'bilateral'
        WHEN list_contains(codes, '7771000') AND list_contains(codes, '24028007') THEN 'bilateral'
        WHEN list_contains(codes, '7771000') THEN 'left'
        WHEN list_contains(codes, '24028007') THEN 'right'
        WHEN regexp_matches(lower(words), '\bbilateral\b|\bboth\b') THEN 'bilateral'
        WHEN regexp_matches(lower(words), '\bleft\b') AND regexp_matches(lower(words), '\bright\b')
            THEN 'bilateral'
        WHEN regexp_matches(lower(words), '\bleft\b') THEN 'left'
        WHEN regexp_matches(lower(words), '\bright\b') THEN 'right'
    END;

-- The codings of a CodeableConcept, or one all-NULL coding when it has none, so that unnest
-- keeps text-only concepts as one row.
CREATE OR REPLACE MACRO codings_or_null(cc) AS
    CASE
        WHEN len(cc.coding) > 0 THEN cc.coding
        ELSE [{'system': NULL::VARCHAR, 'code': NULL::VARCHAR, 'display': NULL::VARCHAR}]
    END;

-- A FHIR HumanName as one line: its text, else "Family, Given Middle"; NULL when empty.
CREATE OR REPLACE MACRO human_name(n) AS
    coalesce(
        nullif(trim(n.text), ''),
        nullif(
            trim(
                concat_ws(
                    ', ',
                    nullif(trim(n.family), ''),
                    nullif(trim(array_to_string(n.given, ' ')), '')
                )
            ),
            ''
        )
    );
