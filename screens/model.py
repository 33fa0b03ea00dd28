"""Domain vocabulary shared by every hop of the data: staged tables, mentions, evidence, items.

The polars schemas here are the contracts between `pipelines/` (which produces staged tables),
`screens/notes` (which produces mentions), `screens/engine` (which produces evidence) and
`pipelines/store` (which persists evidence and worklist items). They are asserted at those
boundaries with `assert_schema`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import polars as pl


class ScreeningError(Exception):
    """Base of every error vascreen raises on purpose; the pipeline's are in `pipelines.errors`.

    `exit_code` is the `vascreen` CLI's exit code for it (`pipelines.errors.ExitCode`, the
    contract; `screens/` cannot import it). Messages are one line, PHI-free.
    """

    exit_code: int = 1


class InvalidRuleError(ScreeningError, ValueError):
    """A rule, criterion or value set is malformed. Raised when rule modules are imported."""

    exit_code = 5  # ExitCode.INVALID_RULE


class Modifier(StrEnum):
    """ConText modifiers a note mention may carry."""

    NEGATED = "negated"
    HISTORICAL = "historical"
    FAMILY = "family"
    HYPOTHETICAL = "hypothetical"
    UNCERTAIN = "uncertain"


class Laterality(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    BILATERAL = "bilateral"


class Priority(StrEnum):
    URGENT = "urgent"
    SOON = "soon"
    ROUTINE = "routine"


PRIORITY_RANK: dict[str, int] = {Priority.URGENT: 0, Priority.SOON: 1, Priority.ROUTINE: 2}


class ItemStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    RESOLVED = "resolved"
    REFERRED = "referred"
    DISMISSED = "dismissed"
    UNDER_CARE = "under_care"
    SNOOZED = "snoozed"
    NEEDS_INFO = "needs_info"


class QuarantineReason(StrEnum):
    """Why a raw line or resource was set aside instead of staged."""

    INVALID_JSON = "invalid_json"
    NOT_A_RESOURCE = "not_a_resource"
    UNSUPPORTED_TYPE = "unsupported_type"
    MISSING_ID = "missing_id"
    MISSING_SUBJECT = "missing_subject"
    INVALID_RESOURCE = "invalid_resource"
    INVALID_DATE = "invalid_date"
    BAD_ENCODING = "bad_encoding"
    TOO_LARGE = "too_large"
    NESTED_BUNDLE = "nested_bundle"
    SERVER_ERROR = "server_error"
    IMPLAUSIBLE_VALUE = "implausible_value"  # non-finite or physiologically impossible quantity


class NoteStatus(StrEnum):
    OK = "ok"
    NOTE_UNAVAILABLE = "note_unavailable"


# ---- staged tables (produced by pipelines/ingest/stage.py from sql/staging/*.sql)
# -------------------
# Codes: `code` is as sent; `code_norm` is upper-case with dots and spaces removed, so that
# ICD-10-CM "I70.213" and "I70213" (and ICD-9-CM "440.21" / "44021") compare equal.

PATIENT_IDENTIFIER = pl.Struct({"system": pl.String, "value": pl.String, "type_code": pl.String})
STG_PATIENT: dict[str, pl.DataType | type[pl.DataType]] = {
    "patient_id": pl.String,
    "birth_date": pl.Date,
    "gender": pl.String,
    # Identity for the review app (store only, never logs or artifacts); rules do not read it.
    "name": pl.String,
    "identifiers": pl.List(PATIENT_IDENTIFIER),
}

STG_CONDITION = {  # one row per Condition x coding
    "patient_id": pl.String,
    "source_ref": pl.String,  # "Condition/<id>"
    "system": pl.String,
    "code": pl.String,
    "code_norm": pl.String,
    "display": pl.String,
    # clinical_status: active | recurrence | relapse | inactive | remission | resolved | None
    "clinical_status": pl.String,
    "verification_status": pl.String,  # confirmed | provisional | ... | refuted | None
    "recorded_on": pl.Date,  # onset, else recordedDate; NULL when the record has neither
    "encounter_id": pl.String,  # id of Condition.encounter (an stg_encounter row) or None
    "laterality": pl.String,  # left | right | bilateral | None (bodySite, SNOMED qualifiers)
    "abated_on": pl.Date,  # abatementDateTime / abatementPeriod end, else start / a dated string
}

STG_OBSERVATION = {  # one row per Observation x coding, and per component x coding
    "patient_id": pl.String,
    "source_ref": pl.String,  # "Observation/<id>"
    "status": pl.String,  # final | amended | corrected | preliminary | ... (never entered-in-error)
    "system": pl.String,
    "code": pl.String,
    "display": pl.String,
    "effective_on": pl.Date,
    "value_num": pl.Float64,
    "value_str": pl.String,  # valueString / valueCodeableConcept text, e.g. "noncompressible"
    "unit": pl.String,  # UCUM; "unit_unrecognized" when the sent unit could not be mapped
    "laterality": pl.String,  # left | right | bilateral | None (bodySite, else code words)
    "encounter_id": pl.String,  # id of Observation.encounter or None
    # Component rows: the parent Observation's first coding and its display (else code.text),
    # so a component coded locally ("R ABI") still names its panel. None on top-level rows.
    "panel_system": pl.String,
    "panel_code": pl.String,
    "panel_display": pl.String,
}

STG_PROCEDURE = {  # one row per Procedure x coding
    "patient_id": pl.String,
    "source_ref": pl.String,
    "status": pl.String,
    "system": pl.String,
    "code": pl.String,
    "code_norm": pl.String,
    "display": pl.String,
    "performed_on": pl.Date,
    "encounter_id": pl.String,  # id of Procedure.encounter or None
    "laterality": pl.String,  # left | right | bilateral | None (bodySite, SNOMED qualifiers)
}

# One row per MedicationRequest x coding of the drug it names: medicationCodeableConcept, or the
# code of the Medication its medicationReference names (contained, or a Medication resource of
# the source: STG_MEDICATION_CODE); NULL code and the reference's display when neither resolves.
STG_MEDICATION = {
    "patient_id": pl.String,
    "source_ref": pl.String,
    "status": pl.String,
    "system": pl.String,
    "code": pl.String,
    "display": pl.String,
    "authored_on": pl.Date,
    "encounter_id": pl.String,  # id of MedicationRequest.encounter or None
    "medication_ref": pl.String,  # "Medication/<id>" when named by reference (not contained)
}

STG_MEDICATION_CODE = {  # one row per Medication resource x code.coding; no patient (a lookup)
    "source_ref": pl.String,  # "Medication/<id>", what STG_MEDICATION.medication_ref names
    "system": pl.String,
    "code": pl.String,
    "display": pl.String,  # coding display, else code.text
}

STG_ENCOUNTER = {  # one row per Encounter
    "patient_id": pl.String,
    "source_ref": pl.String,  # "Encounter/<id>"
    "encounter_id": pl.String,  # the id other staged rows name in their encounter_id
    "status": pl.String,  # planned | in-progress | finished | ... (never entered-in-error)
    "start_on": pl.Date,  # period.start; NULL when absent
    "end_on": pl.Date,  # period.end; NULL when absent (e.g. still in progress)
}

STG_NOTE = {  # one row per DocumentReference / DiagnosticReport with decodable text
    "patient_id": pl.String,
    "source_ref": pl.String,  # "DocumentReference/<id>" | "DiagnosticReport/<id>"
    "note_on": pl.Date,
    "note_type": pl.String,
    "text": pl.String,
}

# ---- note mentions (produced by screens/notes from stg_note) ----------------------------------

STG_NOTE_MENTION = {  # one row per concept mention
    "patient_id": pl.String,
    "source_ref": pl.String,
    "note_on": pl.Date,
    "concept": pl.String,
    "span_start": pl.Int64,  # character offsets into the note text
    "span_end": pl.Int64,
    "sentence_start": pl.Int64,
    "sentence_end": pl.Int64,
    "snippet": pl.String,  # the sentence; store and UI only, never logs
    "modifiers": pl.String,  # sorted, space-separated Modifier values; "" when affirmed
    "laterality": pl.String,
    "value": pl.Float64,
    "unit": pl.String,
    "qualifier": pl.String,  # e.g. "noncompressible", "post_exercise_1min", "anterior"
    "section": pl.String,
    "stated_on": pl.Date,  # the date the note states for the finding ("ABI 0.58 (2019)"), else NULL
}

# ---- evidence and worklist (produced by screens/engine) ----------------------------------------

EVIDENCE = {  # one row per criterion hit per patient
    "patient_id": pl.String,
    "screen_id": pl.String,
    "screen_version": pl.Int64,
    "criterion_id": pl.String,
    "role": pl.String,  # include | exclude | mimic | alert
    "source_ref": pl.String,
    "observed_on": pl.Date,
    "value": pl.Float64,
    "unit": pl.String,
    "laterality": pl.String,
    "span_start": pl.Int64,
    "span_end": pl.Int64,
    "sentence_start": pl.Int64,  # snippet offset in the note, for highlighting
    "snippet": pl.String,
    "modifiers": pl.String,
    "as_of": pl.Date,
}

# How evidence rows are sorted: by patient, screen, criterion, role and source, then by every
# other column, so that rows tied on those (the left and right ABI of one Observation) come out
# in the same order on every run.
_EVIDENCE_KEYS = ["patient_id", "screen_id", "criterion_id", "role", "source_ref", "span_start"]
EVIDENCE_ORDER = _EVIDENCE_KEYS + [c for c in EVIDENCE if c not in _EVIDENCE_KEYS]

WORKLIST_ITEM = {  # one row per patient x screen flagged at as_of
    "patient_id": pl.String,
    "screen": pl.String,
    "screen_version": pl.Int64,
    "priority": pl.String,
    "first_flagged_on": pl.Date,
    "last_evidence_on": pl.Date,
    "criteria": pl.String,  # sorted, space-separated criterion ids
    "evidence": pl.String,  # sorted, space-separated Type/id references
    "mimics": pl.String,  # sorted, space-separated mimic criterion ids shown as alternatives
    "alerts": pl.String,  # sorted, space-separated alert ids
    "as_of": pl.Date,
}

QUARANTINE = {  # one row per rejected line or resource
    "resource_type": pl.String,
    "resource_id": pl.String,
    "source": pl.String,  # file:line or page URL
    "reason": pl.String,  # QuarantineReason
    "detail": pl.String,  # PHI-free: field paths and error kinds, never values
}


def empty_frame(schema: dict[str, pl.DataType] | dict[str, type[pl.DataType]]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def assert_schema(
    frame: pl.DataFrame, schema: Mapping[str, pl.DataType | type[pl.DataType]], name: str
) -> pl.DataFrame:
    """Check that `frame` carries exactly the contracted columns and dtypes, in order.

    Raises:
        TypeError: naming the table and the first column that differs (no values).
    """
    expected = list(schema.items())
    actual = list(frame.schema.items())
    if [c for c, _ in expected] != [c for c, _ in actual]:
        raise TypeError(f"{name}: columns {[c for c, _ in actual]} != {[c for c, _ in expected]}")
    for (col, want), (_, got) in zip(expected, actual, strict=True):
        if got != want and got != pl.Null:
            raise TypeError(f"{name}.{col}: dtype {got} != {want}")
    return frame
