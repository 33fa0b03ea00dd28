"""Pre-flight checks for operators: store, work directory, FHIR server and its auth.

`vascreen check` prints them; `run` refuses to land anything and `serve` to listen unless they
pass. Each result names where (host, path; passwords masked) and why, never a secret.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import sqlalchemy as sa

from pipelines.errors import (
    ExitCode,
    FhirServerError,
    ScreeningError,
    SourceError,
    StoreError,
    WorkdirError,
)
from pipelines.fhir.client import RETRYABLE_STATUS
from pipelines.fhir.download_limits import ByteBudget, limits_from_settings
from pipelines.settings import Settings

# A check answers quickly or fails: an operator waits on it at a terminal.
CONNECT_TIMEOUT_S = 5
RETRY_DELAYS_S = (1.0, 2.0)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check: what (`name`), where (`target`, no secret), and the cause when it failed."""

    name: str
    target: str
    cause: str | None = None
    exit_code: ExitCode = ExitCode.OK

    @property
    def ok(self) -> bool:
        return self.cause is None

    def line(self) -> str:
        if self.ok:
            return f"{self.name}: ok ({self.target})"
        return f"{self.name}: FAILED {self.target}: {self.cause}"


def mask_url(url: str) -> str:
    """`url` with any password replaced by *** (store and FHIR URLs both)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def check_store(url: str, *, create: bool) -> CheckResult:
    """The store answers. SQLite: a missing file is created only when `create` (a run), and
    then only in an existing directory or one new directory below an existing one (`var/`)."""
    from pipelines.store.engine import normalize_url

    try:
        parsed = normalize_url(url)
    except StoreError as err:
        return CheckResult("store", "(store URL)", str(err), ExitCode.STORE)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        return _check_sqlite(Path(parsed.database), create=create)
    return _check_postgresql(parsed)


def _check_sqlite(path: Path, *, create: bool) -> CheckResult:
    target = f"sqlite {path}"

    def fail(cause: str) -> CheckResult:
        return CheckResult("store", target, cause, ExitCode.STORE)

    if not path.exists():
        if not create:
            return fail("no such file (a mistyped path? `vascreen run` creates the store)")
        missing = path.parent
        if not missing.is_dir() and not missing.parent.is_dir():
            return fail(f"directory {missing.parent} does not exist")
        return CheckResult("store", f"{target}, created by the run")
    if path.is_dir():
        return fail("is a directory, not a SQLite file")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.Error as exc:
        return fail(str(exc).splitlines()[0])
    return CheckResult("store", target)


def _check_postgresql(parsed: sa.URL) -> CheckResult:
    target = f"postgresql {parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database}"
    engine = sa.create_engine(parsed, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        cause = _driver_cause(str(exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc))
        if parsed.password:
            cause = cause.replace(parsed.password, "***")
        return CheckResult("store", target, cause, ExitCode.STORE)
    finally:
        engine.dispose()
    return CheckResult("store", target)


def _driver_cause(message: str) -> str:
    """The cause in a driver error, one line. psycopg writes 'connection failed: connection to
    server at "h", port p failed: Connection refused' then a hint line; keep the cause."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    failed = [line for line in lines if "failed: " in line]
    if failed:
        return failed[-1].rsplit("failed: ", 1)[1]
    return lines[0] if lines else "unknown error"


def check_workdir(workdir: Path) -> CheckResult:
    """The work directory exists (created when missing) and takes a file."""
    target = str(workdir)
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=workdir, prefix=".check-"):
            pass
    except OSError as exc:
        cause = exc.strerror or type(exc).__name__
        return CheckResult("workdir", target, cause, ExitCode.WORKDIR)
    return CheckResult("workdir", target)


def check_source(source: str, settings: Settings, *, reach: bool = True) -> CheckResult:
    """A directory source exists; a FHIR URL answers /metadata, and with auth, a search.

    An empty source is refused, not read as the current directory: it is what a deployment
    gets when VASCREEN_FHIR_BASE_URL was unset at `prefect deploy` (or its placeholder left).
    """
    if not source.strip() or "{{" in source:
        cause = "empty: set VASCREEN_FHIR_BASE_URL, then run `prefect deploy --all` again"
        return CheckResult("source", "(deployment parameter)", cause, ExitCode.SOURCE)
    if not source.startswith(("http://", "https://")):
        if Path(source).is_dir():
            return CheckResult("source", f"directory {source}")
        cause = "not a directory or an http(s) FHIR base URL"
        return CheckResult("source", source or "(empty)", cause, ExitCode.SOURCE)
    if not reach:  # the pull itself will reach the server, with its retries
        return _check_auth_settings(source, settings)
    return check_fhir(source, settings)


def _check_auth_settings(base_url: str, settings: Settings) -> CheckResult:
    """The auth settings are complete (no network): a missing one is named, never a value."""
    from pipelines.fhir.auth import auth_from_settings

    target = f"FHIR {mask_url(base_url.rstrip('/'))}, auth {settings.fhir_auth}"
    try:
        auth_from_settings(settings)
    except FhirServerError as err:
        return CheckResult("fhir", target, str(err), ExitCode.FHIR_SERVER)
    return CheckResult("fhir", target)


def check_fhir(base_url: str, settings: Settings) -> CheckResult:
    from pipelines.fhir.auth import auth_from_settings, build_httpx_auth

    base = base_url.rstrip("/")
    target = f"FHIR {mask_url(base)}, auth {settings.fhir_auth}"

    def fail(cause: str) -> CheckResult:
        return CheckResult("fhir", target, cause, ExitCode.FHIR_SERVER)

    try:
        auth = build_httpx_auth(auth_from_settings(settings), base)
    except FhirServerError as err:
        return fail(str(err))
    timeout = httpx.Timeout(CONNECT_TIMEOUT_S * 2, connect=CONNECT_TIMEOUT_S)
    headers = {"Accept": "application/fhir+json"}
    step = "GET /metadata"
    try:
        # The same bounds as the pull: a server streaming without end fails the check.
        budget = ByteBudget(limits_from_settings(settings))
        with httpx.Client(
            timeout=timeout,
            headers=headers,
            follow_redirects=False,
            event_hooks={"response": [budget.hook]},
        ) as http:
            metadata = _get_with_retries(http, f"{base}/metadata")
            if metadata.status_code in (401, 403):  # a server that guards its metadata too
                metadata = http.get(f"{base}/metadata", auth=auth)
            if metadata.status_code != 200:
                return fail(f"GET /metadata answered HTTP {metadata.status_code}")
            version = _fhir_version(metadata)
            # An authorised request that returns no patient data: a count, or where the
            # population is a Group (Epic, Oracle Health refuse a Patient search without
            # `patient=`), the Group's summary.
            if settings.fhir_group_id:
                step = "GET /Group/<group>?_summary=true"
                searched = http.get(
                    f"{base}/Group/{settings.fhir_group_id}", params={"_summary": "true"}, auth=auth
                )
            else:
                step = "GET /Patient?_summary=count"
                searched = http.get(f"{base}/Patient", params={"_summary": "count"}, auth=auth)
    except httpx.HTTPError as exc:
        return fail(f"{step}: {_http_cause(exc)}")
    except FhirServerError as err:  # the SMART token exchange failed
        return fail(str(err))
    if searched.status_code in (401, 403):
        return fail(f"credentials refused: HTTP {searched.status_code} on {step}")
    if searched.status_code == 404 and settings.fhir_group_id:
        return fail(f"{step} answered HTTP 404: no such Group (VASCREEN_FHIR_GROUP_ID, --group)")
    if searched.status_code >= 500:
        return fail(f"{step} answered HTTP {searched.status_code}")
    # Any other answer got past authentication: a server may refuse a search without
    # `patient=` (HTTP 400) and still accept the credentials, which is what this step checks.
    return CheckResult("fhir", f"{target}, FHIR {version}")


def _get_with_retries(http: httpx.Client, url: str) -> httpx.Response:
    """GET with a few retries on what is transient (connection, timeout, 429, 5xx): a check
    run by a scheduler must not fail on a blip the pull itself would ride out."""
    for delay in (*RETRY_DELAYS_S, None):
        try:
            response = http.get(url)
        except (httpx.TimeoutException, httpx.TransportError):
            if delay is None:
                raise
        else:
            if response.status_code not in RETRYABLE_STATUS or delay is None:
                return response
        time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _fhir_version(response: httpx.Response) -> str:
    try:
        return str(response.json().get("fhirVersion") or "version not stated")
    except ValueError:
        return "version not stated"


def _http_cause(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {CONNECT_TIMEOUT_S} s ({type(exc).__name__})"
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"unreachable: {reason}"


def run_checks(settings: Settings, source: str | None, *, create_store: bool) -> list[CheckResult]:
    """Every check that applies: store and work directory, then the source when given."""
    results = [check_store(settings.store_url, create=create_store)]
    results.append(check_workdir(settings.workdir))
    if source is not None:
        results.append(check_source(source, settings))
    return results


def first_failure(
    settings: Settings, source: str | None, *, create_store: bool, reach_fhir: bool = True
) -> CheckResult | None:
    """The first failed check, in the order source, store, work directory (cheapest to fix
    first; nothing is created on disk before the source is known to be there)."""
    checks: list[Callable[[], CheckResult]] = [
        lambda: check_store(settings.store_url, create=create_store),
        lambda: check_workdir(settings.workdir),
    ]
    if source is not None:
        checks.insert(0, lambda: check_source(source, settings, reach=reach_fhir))
    for check in checks:
        if not (result := check()).ok:
            return result
    return None


_ERRORS: dict[ExitCode, Callable[[str], ScreeningError]] = {
    ExitCode.STORE: StoreError,
    ExitCode.SOURCE: SourceError,
    ExitCode.FHIR_SERVER: FhirServerError,
    ExitCode.WORKDIR: WorkdirError,
}


def require_ready(
    settings: Settings, source: str | None, *, create_store: bool, reach_fhir: bool = True
) -> None:
    """Raise the first failed check as its error (one line: what, where, why).

    `reach_fhir=False` (the flow) checks the FHIR auth settings without a request: the pull
    reaches the server next, with its retries, so a blip at night does not fail the run.
    """
    result = first_failure(settings, source, create_store=create_store, reach_fhir=reach_fhir)
    if result is not None:
        raise _ERRORS[result.exit_code](f"{result.name} {result.target}: {result.cause}")
