"""Exception hierarchy for the pipeline and the CLI exit codes they map to.

Library code raises these and never exits; only `pipelines/cli.py` turns them into an
`ExitCode`. Every message is one line and PHI-free: resource types, ids, counts and reasons,
never values, names or note text.
"""

from __future__ import annotations

from enum import IntEnum


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


class ScreeningError(Exception):
    """Base of every error the pipeline raises on purpose."""

    exit_code: ExitCode = ExitCode.ERROR


class SourceError(ScreeningError):
    """The source directory is missing, unreadable, or holds no FHIR files."""

    exit_code = ExitCode.SOURCE


class FhirServerError(ScreeningError):
    """The FHIR server failed (after retries) or answered with something unusable."""

    exit_code = ExitCode.FHIR_SERVER


class InvalidRuleError(ScreeningError, ValueError):
    """A screening rule, criterion or value set is malformed."""

    exit_code = ExitCode.INVALID_RULE


class StoreError(ScreeningError):
    """The worklist store could not be read or written."""

    exit_code = ExitCode.STORE


class QuarantineThresholdError(ScreeningError):
    """Too large a share of some resource type was quarantined: a systemic data problem."""

    exit_code = ExitCode.QUARANTINE_THRESHOLD


class WorkdirBusyError(ScreeningError):
    """Another run holds the work directory (`pipelines.workdir_lock`)."""

    exit_code = ExitCode.WORKDIR_BUSY


class WorkdirError(ScreeningError):
    """The work directory cannot be created or written (permissions, a full or read-only disk)."""

    exit_code = ExitCode.WORKDIR
