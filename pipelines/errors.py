"""Exception hierarchy for the pipeline (minimal; the CLI maps these to exit codes)."""


class ScreeningError(Exception):
    """Base class for every error the pipeline raises on purpose."""


class FhirServerError(ScreeningError):
    """A FHIR server could not be read (after retries). Messages are one line and PHI-free."""


class StoreError(ScreeningError):
    """The worklist store refused or failed an operation. Messages carry ids and counts only."""
