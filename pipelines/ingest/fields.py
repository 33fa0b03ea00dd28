"""The landed fields, declared once: what ``raw_resource`` holds per resource type.

Each NDJSON file is read with its type's narrow ``columns=`` schema (`TYPE_FIELDS`: the fields
staging reads that the type has; `BASE_FIELDS` for other types); ``raw_resource`` has the union
(`RESOURCE_FIELDS`). The mirror's fingerprint and content hash derive from these declarations.
"""

from __future__ import annotations

# A field shape: a DuckDB scalar type name, a dict (JSON object) or a one-item list (array).
Shape = str | dict[str, "Shape"] | list["Shape"]

_CODING: Shape = {"system": "VARCHAR", "code": "VARCHAR", "display": "VARCHAR"}
_CC: Shape = {"coding": [_CODING], "text": "VARCHAR"}
_QTY: Shape = {
    # Text, cast at staging: a string such as "1e-999" must not silently become 0
    # (pipelines.value_checks quarantines what is not a finite, plausible decimal).
    "value": "VARCHAR",
    "unit": "VARCHAR",
    "system": "VARCHAR",
    "code": "VARCHAR",
    "comparator": "VARCHAR",
}
_ATT: Shape = {"contentType": "VARCHAR", "data": "VARCHAR", "url": "VARCHAR", "size": "BIGINT"}
_PERIOD: Shape = {"start": "VARCHAR"}
_PERIOD_BOTH: Shape = {"start": "VARCHAR", "end": "VARCHAR"}
_REF: Shape = {"reference": "VARCHAR", "display": "VARCHAR"}
# A body site with the extensions that carry a laterality qualifier (Condition, Procedure).
_SITE: Shape = {
    "coding": [_CODING],
    "text": "VARCHAR",
    "extension": [{"url": "VARCHAR", "valueCodeableConcept": _CC}],
}

# Fields every resource lands with, whatever its type (counts, dedupe, entered-in-error).
BASE_FIELDS: dict[str, Shape] = {
    "resourceType": "VARCHAR",
    "id": "VARCHAR",
    "meta": {"versionId": "VARCHAR", "lastUpdated": "VARCHAR"},
    "status": "VARCHAR",
}

# Union of the fields staging reads, across staged types. Names shared between staged types
# have the same FHIR shape in each of them (e.g. `code` is a CodeableConcept in all).
RESOURCE_FIELDS: dict[str, Shape] = {
    **BASE_FIELDS,
    "docStatus": "VARCHAR",
    "subject": {"reference": "VARCHAR", "display": "VARCHAR"},
    "birthDate": "VARCHAR",
    "gender": "VARCHAR",
    # Patient identity for the review app only (store, never logs): name and identifiers.
    "name": [{"use": "VARCHAR", "text": "VARCHAR", "family": "VARCHAR", "given": ["VARCHAR"]}],
    "identifier": [{"use": "VARCHAR", "system": "VARCHAR", "value": "VARCHAR", "type": _CC}],
    "code": _CC,
    "clinicalStatus": _CC,
    "verificationStatus": _CC,
    "onsetDateTime": "VARCHAR",
    "onsetPeriod": _PERIOD,
    "recordedDate": "VARCHAR",
    "effectiveDateTime": "VARCHAR",
    "effectivePeriod": _PERIOD,
    "effectiveInstant": "VARCHAR",
    "issued": "VARCHAR",
    "valueQuantity": _QTY,
    "valueString": "VARCHAR",
    "valueCodeableConcept": _CC,
    "bodySite": _CC,  # Observation.bodySite (0..1)
    "component": [
        {"code": _CC, "valueQuantity": _QTY, "valueString": "VARCHAR", "valueCodeableConcept": _CC}
    ],
    "performedDateTime": "VARCHAR",
    "performedPeriod": _PERIOD,
    "medicationCodeableConcept": _CC,
    "authoredOn": "VARCHAR",
    "type": _CC,  # DocumentReference.type
    "date": "VARCHAR",
    "context": {"period": _PERIOD},
    "content": [{"attachment": _ATT}],
    "presentedForm": [_ATT],
    "conclusion": "VARCHAR",
    "period": _PERIOD_BOTH,  # Encounter.period
    "encounter": _REF,  # Condition, Observation, Procedure, MedicationRequest
    "bodySites": [_SITE],  # Condition.bodySite, Procedure.bodySite (0..*; JSON key `JSON_KEYS`)
    "abatementDateTime": "VARCHAR",
    "abatementPeriod": _PERIOD_BOTH,
    "abatementString": "VARCHAR",
    "medicationReference": _REF,
    # Contained resources, as far as a contained Medication goes (MedicationRequest).
    "contained": [{"resourceType": "VARCHAR", "id": "VARCHAR", "code": _CC}],
}

# Landed columns named apart from their JSON key: staged types that share a key with different
# shapes (Condition.bodySite and Procedure.bodySite are arrays, Observation.bodySite is one).
JSON_KEYS: dict[str, str] = {"bodySites": "bodySite"}

# Per staged type, the fields of `RESOURCE_FIELDS` that type has in R4 and staging reads: each
# file is read with this narrow schema (design.md, "Known traps": explicit narrow columns=), the
# other columns of ``raw_resource`` stay NULL for its rows.
_TYPE_FIELD_NAMES: dict[str, str] = {
    "Patient": "birthDate gender name identifier",
    "Condition": (
        "subject code clinicalStatus verificationStatus onsetDateTime onsetPeriod recordedDate "
        "encounter bodySites abatementDateTime abatementPeriod abatementString"
    ),
    "Observation": (
        "subject code effectiveDateTime effectivePeriod effectiveInstant issued valueQuantity "
        "valueString valueCodeableConcept bodySite component encounter"
    ),
    "Procedure": "subject code performedDateTime performedPeriod encounter bodySites",
    "MedicationRequest": (
        "subject medicationCodeableConcept authoredOn encounter medicationReference contained"
    ),
    "DocumentReference": "docStatus subject type date context content",
    "DiagnosticReport": (
        "subject code effectiveDateTime effectivePeriod issued presentedForm conclusion"
    ),
    "Encounter": "subject period",
    # No patient: a lookup that MedicationRequest.medicationReference resolves against.
    "Medication": "code",
}
TYPE_FIELDS: dict[str, dict[str, Shape]] = {
    t: {**BASE_FIELDS, **{k: RESOURCE_FIELDS[k] for k in names.split()}}
    for t, names in _TYPE_FIELD_NAMES.items()
}
STAGED_TYPES = frozenset(TYPE_FIELDS)


def fields_for(resource_type: str | None) -> dict[str, Shape]:
    """The landed schema of one resource type: its staged fields, or the base fields only."""
    return TYPE_FIELDS.get(resource_type or "", BASE_FIELDS)


def json_fields(fields: dict[str, Shape]) -> dict[str, Shape]:
    """`fields` keyed by their JSON keys, as ``read_json`` and ``json_transform`` take them."""
    return {JSON_KEYS.get(k, k): v for k, v in fields.items()}


def renamed(resource_type: str | None) -> str:
    """The ``RENAME`` clause that gives a scan of `resource_type` its landed column names."""
    pairs = [f'"{JSON_KEYS[k]}" AS "{k}"' for k in fields_for(resource_type) if k in JSON_KEYS]
    return f" RENAME ({', '.join(pairs)})" if pairs else ""


def duckdb_type(shape: Shape) -> str:
    """Render a field shape as a DuckDB type, e.g. ``STRUCT(code VARCHAR)[]``."""
    if isinstance(shape, str):
        return shape
    if isinstance(shape, list):
        return duckdb_type(shape[0]) + "[]"
    return "STRUCT(" + ", ".join(f'"{k}" {duckdb_type(v)}' for k, v in shape.items()) + ")"


def sql_str(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def columns_literal(fields: dict[str, Shape]) -> str:
    """`fields` as the ``columns=`` struct literal of ``read_json``."""
    pairs = ", ".join(f"{sql_str(k)}: {sql_str(duckdb_type(v))}" for k, v in fields.items())
    return "{" + pairs + "}"


def json_structure(shape: Shape) -> object:
    """`shape` as the structure ``json_transform`` takes."""
    if isinstance(shape, str):
        return shape
    if isinstance(shape, list):
        return [json_structure(shape[0])]
    return {k: json_structure(v) for k, v in shape.items()}
