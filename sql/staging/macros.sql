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

-- The id of a reference to a resource of type rtype: 'Encounter/9', '.../Encounter/9/_history/2'
-- or 'urn:uuid:9' -> '9'. NULL for other types, contained ('#m1') or absent references.
CREATE OR REPLACE MACRO ref_id(ref, rtype) AS
    CASE
        -- Fast path for the common '<rtype>/<id>' (same result as the pattern below).
        WHEN starts_with(ref, rtype || '/') AND strpos(substr(ref, length(rtype) + 2), '/') = 0
            THEN nullif(substr(ref, length(rtype) + 2), '')
        WHEN ref LIKE 'urn:uuid:%' THEN nullif(substr(ref, 10), '')
        ELSE nullif(regexp_extract(ref, '(^|/)' || rtype || '/([^/]+)(/_history/[^/]+)?$', 2), '')
    END;

-- The patient a landed resource belongs to: a Patient itself, else its subject's Patient id
-- (NULL when the subject is no Patient). stg_resource_outcome and stg_resource both use it.
CREATE OR REPLACE MACRO patient_of(resource_type, id, subject_ref) AS
    CASE WHEN resource_type = 'Patient' THEN id ELSE patient_ref(subject_ref) END;

-- The resource types staging flattens (others are counted and ignored).
CREATE OR REPLACE MACRO is_staged_type(resource_type) AS resource_type IN (
    'Patient', 'Condition', 'Observation', 'Procedure', 'MedicationRequest',
    'DocumentReference', 'DiagnosticReport', 'Encounter', 'Medication'
);

-- Staged types that belong to no patient: lookups other resources name (stg_medication_code).
CREATE OR REPLACE MACRO is_patientless_type(resource_type) AS resource_type = 'Medication';

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

-- Laterality from SNOMED CT body-site codes, else from words in the text or display, else from
-- the side abbreviations clinicians and local lab codes write ("R ABI", "TBI L", "Lt hallux",
-- "LLE", "B/L"): L, Lt, LLE, R, Rt, RLE standing alone and in capitals, so that "mg/L", "L4"
-- or "l" inside a word are never a side.
CREATE OR REPLACE MACRO laterality_of(codes, words) AS
    CASE
        WHEN list_contains(codes, '51440002') THEN 'bilateral'
        WHEN list_contains(codes, '7771000') AND list_contains(codes, '24028007') THEN 'bilateral'
        WHEN list_contains(codes, '7771000') THEN 'left'
        WHEN list_contains(codes, '24028007') THEN 'right'
        -- One pattern first: most words name no side, and the branches below cost nine scans.
        WHEN NOT regexp_matches(
            words,
            '(?i:\b(?:left|right|both|bilateral)\b)'
            || '|(?:^|[\s(\[,;:])(?:B/L|BLE|L|Lt|LT|LLE|R|Rt|RT|RLE)\.?(?:$|[\s)\],;:])'
        ) THEN NULL
        WHEN regexp_matches(lower(words), '\bbilateral\b|\bboth\b') THEN 'bilateral'
        WHEN regexp_matches(lower(words), '\bleft\b') AND regexp_matches(lower(words), '\bright\b')
            THEN 'bilateral'
        WHEN regexp_matches(lower(words), '\bleft\b') THEN 'left'
        WHEN regexp_matches(lower(words), '\bright\b') THEN 'right'
        WHEN regexp_matches(words, '(^|[\s(\[,;:])(B/L|BLE)($|[\s)\],;:])') THEN 'bilateral'
        WHEN regexp_matches(words, '(^|[\s(\[,;:])(L|Lt|LT|LLE)\.?($|[\s)\],;:])')
            AND regexp_matches(words, '(^|[\s(\[,;:])(R|Rt|RT|RLE)\.?($|[\s)\],;:])')
            THEN 'bilateral'
        WHEN regexp_matches(words, '(^|[\s(\[,;:])(L|Lt|LT|LLE)\.?($|[\s)\],;:])') THEN 'left'
        WHEN regexp_matches(words, '(^|[\s(\[,;:])(R|Rt|RT|RLE)\.?($|[\s)\],;:])') THEN 'right'
    END;

-- codes plus the attribute values of the postcoordinated expressions among them.
CREATE OR REPLACE MACRO with_qualifiers(codes) AS list_concat(
    codes,
    flatten(list_transform(
        list_filter(codes, lambda c: contains(c, '=')),
        lambda c: regexp_extract_all(c, '=\s*\(?\s*(\d+)', 1)
    ))
);

-- The codes laterality_of reads from body sites (Condition, Procedure: 0..*): their codings, the
-- codings of their extensions (a laterality qualifier sent as an extension), and the attribute
-- values of postcoordinated SNOMED CT expressions ('182281004:272741003=7771000' -> '7771000').
CREATE OR REPLACE MACRO site_codes(sites) AS with_qualifiers(flatten(list_transform(
    sites,
    lambda s: list_concat(
        list_transform(s.coding, lambda c: c.code),
        flatten(list_transform(
            s.extension, lambda e: list_transform(e.valuecodeableconcept.coding, lambda c: c.code)
        ))
    )
)));

-- The words laterality_of reads from body sites: their texts and coding displays.
CREATE OR REPLACE MACRO site_words(sites) AS list_aggregate(flatten(list_transform(
    sites,
    lambda s: list_concat([s.text], list_transform(s.coding, lambda c: c.display))
)), 'string_agg', ' ');

-- Laterality of a Condition or Procedure: its body sites' codes and words, and a laterality
-- qualifier postcoordinated in its code (cc).
CREATE OR REPLACE MACRO sites_laterality(sites, cc) AS laterality_of(
    list_concat(site_codes(sites), with_qualifiers(list_transform(cc.coding, lambda c: c.code))),
    CASE WHEN len(sites) > 0 THEN site_words(sites) END
);

-- A date written in a free-text field (Condition.abatementString): a FHIR date, else the usual
-- written forms ('4/2/2019', 'April 2, 2019', '2 Apr 2019', 'April 2019'); NULL otherwise.
CREATE OR REPLACE MACRO loose_date(s) AS coalesce(
    fhir_date(trim(s)),
    try_strptime(
        trim(s), ['%m/%d/%Y', '%B %d, %Y', '%b %d, %Y', '%d %B %Y', '%d %b %Y', '%B %Y', '%b %Y']
    )::DATE
);

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
