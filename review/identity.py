"""How a patient is shown: name (unless the site hides names), MRN, age, sex, the EHR link.

Identity comes from the store (`pipelines.store.patients`) and goes to pages and exports only;
it is never logged or put in the audit detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from review.settings import ReviewSettings

SEX_LABELS = {"female": "F", "male": "M", "other": "other", "unknown": "unknown"}
HIDDEN = "(name hidden)"


@dataclass(frozen=True, slots=True)
class Identity:
    patient_id: str
    name: str  # "" when unknown; HIDDEN when the site hides names
    mrn: str
    age: int | None
    sex: str
    ehr_url: str  # "" when no template is set


def age_on(birth: date | None, day: date) -> int | None:
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def ehr_url(template: str | None, patient_id: str, mrn: str | None) -> str:
    """The template with `{patient_id}` and `{mrn}` URL-encoded in; "" without a template, or
    when the template needs an MRN the patient does not have."""
    if not template or ("{mrn}" in template and not mrn):
        return ""
    url = template.replace("{patient_id}", quote(patient_id, safe=""))
    return url.replace("{mrn}", quote(mrn or "", safe=""))


def identity_of(
    row: dict[str, Any] | None, patient_id: str, settings: ReviewSettings, on: date
) -> Identity:
    """The shown identity from a row with name, birth_date, gender and mrn (or None)."""
    row = row or {}
    name = row.get("name") or ""
    mrn = row.get("mrn") or ""
    return Identity(
        patient_id=patient_id,
        name=HIDDEN if settings.hide_names and name else name,
        mrn=mrn,
        age=age_on(row.get("birth_date"), on),
        sex=SEX_LABELS.get(row.get("gender") or "", ""),
        ehr_url=ehr_url(settings.ehr_url_template, patient_id, mrn),
    )
