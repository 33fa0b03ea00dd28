"""Operator commands of the `vascreen` CLI: `check` (is everything reachable) and `runs`.

Registered on the app in `pipelines.cli`; the same one-line errors and exit codes.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pipelines.errors import ScreeningError
from pipelines.settings import Settings

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Worklist store URL: sqlite:///var/vascreen.db (default) or postgresql://user@host/db.",
    ),
]


def check(
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Directory or FHIR base URL to check (default: VASCREEN_FHIR_BASE_URL).",
        ),
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Check the store, the work directory and the FHIR server with its auth; no secret shown.

    One line per check. Exit codes: 0 all ok, else the first failure's (3 source, 4 FHIR
    server, 6 store, 9 work directory).
    """
    from pipelines.checks import run_checks

    settings = settings_for(store)
    results = run_checks(settings, source or settings.fhir_base_url, create_store=True)
    for result in results:
        typer.echo(result.line())
    failed = [r for r in results if not r.ok]
    if failed:
        raise typer.Exit(int(failed[0].exit_code))


def runs(
    store: StoreOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many runs, newest first.")] = 20,
) -> None:
    """Recent runs with their counts: flagged, new, resolved, open items, quarantined.

    Exit codes: 0 ok, 6 store (missing or unreachable; `runs` never creates one).
    """
    from pipelines.checks import check_store
    from pipelines.run_history import format_runs, recent_runs

    settings = settings_for(store)
    checked = check_store(settings.store_url, create=False)
    if not checked.ok:
        typer.echo(f"vascreen: store {checked.target}: {checked.cause}", err=True)
        raise typer.Exit(int(checked.exit_code))
    try:
        rows = recent_runs(settings.store_url, limit)
    except ScreeningError as err:
        typer.echo(f"vascreen: {err}", err=True)
        raise typer.Exit(int(err.exit_code)) from None
    typer.echo(format_runs(rows) if rows else "no runs yet")


def settings_for(store: str | None) -> Settings:
    return Settings() if store is None else Settings(store_url=store)


def require_ready_or_exit(store: str | None, source: str | None, *, create_store: bool) -> None:
    """Run the pre-flight checks; the first failure is one line and its exit code."""
    from pipelines.checks import require_ready

    try:
        require_ready(settings_for(store), source, create_store=create_store)
    except ScreeningError as err:
        typer.echo(f"vascreen: {err}", err=True)
        raise typer.Exit(int(err.exit_code)) from None
