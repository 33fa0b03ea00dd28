"""Exception hierarchy for the pipeline and the CLI exit codes they map to.

Library code raises these and never exits; only `pipelines/cli.py` turns them into an
`ExitCode`. Every message is one line and PHI-free: resource types, ids, counts and reasons,
never values, names or note text.
"""

from __future__ import annotations

from enum import IntEnum

# One class each, defined beside the rules (`screens/` never imports `pipelines/`); the
# pipeline's errors below derive from the same base.
from screens.model import InvalidRuleError, ScreeningError


class ExitCode(IntEnum):
    """Process exit codes of the `vascreen` CLI (a public contract for schedulers)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    SOURCE = 3
    FHIR_SERVER = 4
    INVALID_RULE = 5
    STORE = 6
    QUARANTINE_THRESHOLD = 7
    WORKDIR_BUSY = 8
    WORKDIR = 9
    EXPORT = 10


__all__ = [
    "ExitCode",
    "FhirServerError",
    "InvalidRuleError",
    "QuarantineThresholdError",
    "ScreeningError",
    "SourceError",
    "StoreError",
    "UnexpectedError",
    "WorkdirBusyError",
]


class UsageError(ScreeningError):
    """The caller asked for something the pipeline refuses (e.g. a secret as a parameter)."""

    exit_code = ExitCode.USAGE


class SourceError(ScreeningError):
    """The source directory is missing, unreadable, or holds no FHIR files."""

    exit_code = ExitCode.SOURCE


class FhirServerError(ScreeningError):
    """The FHIR server failed (after retries) or answered with something unusable."""

    exit_code = ExitCode.FHIR_SERVER


class StoreError(ScreeningError):
    """The worklist store could not be read or written."""

    exit_code = ExitCode.STORE


class QuarantineThresholdError(ScreeningError):
    """Too large a share of some resource type was quarantined: a systemic data problem."""

    exit_code = ExitCode.QUARANTINE_THRESHOLD


class UnreadNotesThresholdError(QuarantineThresholdError):
    """Too large a share of the night's notes gave no text (`pipelines.note_unread`): a systemic
    problem (Binary reads refused, a format we do not read), failed like quarantine."""


class WorkdirBusyError(ScreeningError):
    """Another run holds the work directory (`pipelines.workdir_lock`)."""

    exit_code = ExitCode.WORKDIR_BUSY


class WorkdirError(ScreeningError):
    """The work directory cannot be created or written (permissions, a full or read-only disk)."""

    exit_code = ExitCode.WORKDIR


class ExportError(ScreeningError):
    """The worklist was published, but worklist.csv could not be written."""

    exit_code = ExitCode.EXPORT


class UnexpectedError(ScreeningError):
    """A fault vascreen did not foresee (a bug, a library's surprise). Its own message is
    withheld, since it can quote the data it failed on; the class and the code location are
    kept (`pipelines.flows.withheld`)."""

    exit_code = ExitCode.ERROR
