"""Deterministic synthetic FHIR R4 cohort with known screening truth (`vascreen synth`).

See pipelines/synth/README.md for the story catalogue and why each label is right.
"""

from devtools.synth.cohort import CohortSummary, write_cohort

__all__ = ["CohortSummary", "write_cohort"]
