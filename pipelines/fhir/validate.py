"""Full FHIR R4 validation with ``fhir.resources.R4B``, used on a sample, not on every row.

R4B model validation runs ~2.5k resources/s per core (design.md), so staging applies cheap
structural checks in SQL to every resource and this full validation to a deterministic sample
(`SAMPLE_HEAD` first resources of each type, then every `SAMPLE_STRIDE`-th, up to
`SAMPLE_CAP`). Pydantic error messages echo input values, which may be PHI; only the field
location and the error type of each error are kept.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

SAMPLE_HEAD = 25
SAMPLE_STRIDE = 500
SAMPLE_CAP = 200
MAX_ISSUES = 5


# R4 resource types that R4B dropped: valid R4, so counted and ignored rather than quarantined.
R4_ONLY_TYPES = frozenset(
    {
        "EffectEvidenceSynthesis",
        "RiskEvidenceSynthesis",
        "SubstanceSpecification",
        "MedicinalProduct",
        "MedicinalProductAuthorization",
        "MedicinalProductContraindication",
        "MedicinalProductIndication",
        "MedicinalProductIngredient",
        "MedicinalProductInteraction",
        "MedicinalProductManufactured",
        "MedicinalProductPackaged",
        "MedicinalProductPharmaceutical",
        "MedicinalProductUndesirableEffect",
    }
)


@cache
def is_known_type(resource_type: str) -> bool:
    """True when `resource_type` names an R4 resource type (an R4B model or an R4-only type)."""
    if resource_type in R4_ONLY_TYPES:
        return True
    try:
        get_fhir_model_class(resource_type)
    except (ValueError, KeyError, AttributeError):
        return False
    return True


def sanitize_errors(exc: ValidationError) -> str:
    """'loc.path:error_type' for the first few errors; never the offending input values."""
    issues = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False):
        loc = ".".join(str(part) for part in err.get("loc", ()))
        issues.append(f"{loc or '(root)'}:{err.get('type', 'invalid')}")
    shown = "; ".join(issues[:MAX_ISSUES])
    more = len(issues) - MAX_ISSUES
    return shown + (f"; +{more} more" if more > 0 else "")


def validate_resource(resource: dict[str, Any]) -> str | None:
    """Validate one resource against its R4B model; return a PHI-free detail or None if valid."""
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not is_known_type(resource_type):
        return "resourceType:unknown"
    model = get_fhir_model_class(resource_type)
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        return sanitize_errors(exc)
    except (ValueError, TypeError) as exc:
        # fhir.resources raises plain errors for some structural problems; keep the kind only.
        return f"(root):{type(exc).__name__}"
    return None


def validate_json(raw: bytes | str) -> str | None:
    """Parse and validate one JSON resource; a PHI-free detail or None if valid."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "(root):json_invalid"
    if not isinstance(value, dict):
        return "(root):not_an_object"
    return validate_resource(value)
