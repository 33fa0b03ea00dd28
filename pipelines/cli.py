"""The `vascreen` command line. The command names and flags are a public contract (design.md).

Commands call the same functions the flows call. Exceptions become one-line messages and exit
codes here, and only here.
"""

from __future__ import annotations

import os
import sys
import traceback
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from pipelines.errors import ExitCode, ScreeningError
from pipelines.operator_cli import check, require_ready_or_exit, runs
from pipelines.run_summary import RunSummary, summary_lines
from review.users_cli import users_app

# Prefect's ephemeral server takes ~20 s to start on these machines; the default is too tight.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

app = typer.Typer(
    name="vascreen",
    help="Nightly FHIR R4 screening for undiagnosed PAD, possible CLTI, May-Thurner and CECS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main_options(
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Show Prefect's flow and task log lines on stderr."),
    ] = False,
) -> None:
    """Quiet by default: one summary (or one error line) per command; run details go to Prefect."""
    # Prefect still sends every log line to its API (the run's page); only the console is quiet.
    # Set before prefect is imported, which happens lazily inside the commands.
    os.environ.setdefault(
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "INFO" if verbose else "CRITICAL"
    )
    # The pipeline's own log lines (logger "vascreen": ids and counts, e.g. a file keyed the
    # slow way) go where Prefect's go.
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "vascreen")
    # Outside a flow run (checks, a library call before the flow) those lines have no run to
    # join: they stay on the console, without Prefect's warning about it.
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")


app.add_typer(users_app, name="users")
app.command()(check)
app.command()(runs)

AsOf = Annotated[
    str,
    typer.Option(
        "--as-of", help="Screening date YYYY-MM-DD: lookbacks end here; later data is ignored."
    ),
]
StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Worklist store URL: sqlite:///var/vascreen.db (default) or postgresql://user@host/db.",
    ),
]


def _fail(message: str, code: ExitCode) -> typer.Exit:
    typer.echo(f"vascreen: {message}", err=True)
    return typer.Exit(int(code))


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"--as-of must be a date YYYY-MM-DD, got {value!r}", ExitCode.USAGE) from None


def _parse_screens(value: str | None) -> list[str] | None:
    if not value:
        return None
    from screens.rules import UnknownScreenError, select_screens

    ids = [s.strip() for s in value.split(",") if s.strip()]
    try:
        select_screens(ids)
    except UnknownScreenError as err:
        raise _fail(str(err), ExitCode.USAGE) from None
    return ids


def _progress() -> bool:
    return sys.stderr.isatty()


def _run_flow(
    runner: str = "local", dask_address: str | None = None, **params: object
) -> RunSummary:
    from pipelines.flows.screen_cohort import screen_cohort
    from pipelines.settings import has_password

    url = params.get("store_url")
    if isinstance(url, str) and has_password(url):
        # Prefect keeps flow parameters in its database: a password goes by the environment.
        os.environ["VASCREEN_STORE_URL"] = url
        params["store_url"] = None
    flow = screen_cohort
    if runner == "dask":
        from prefect_dask.task_runners import DaskTaskRunner

        task_runner = (
            DaskTaskRunner(address=dask_address)
            if dask_address
            else DaskTaskRunner(
                cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": True}
            )
        )
        flow = screen_cohort.with_options(task_runner=task_runner)  # type: ignore[arg-type]
        params["parallel_shards"] = True
    try:
        summary: RunSummary = flow(**params)  # type: ignore[call-overload]
        return summary
    except ScreeningError as err:
        # Drop the frames' locals (open DuckDB connections among them): otherwise they live
        # until interpreter exit, where DuckDB's bindings print leak reports after our one line.
        traceback.clear_frames(err.__traceback__)
        raise _fail(str(err), ExitCode(err.exit_code)) from None


@app.command()
def run(
    source: Annotated[
        str,
        typer.Option(
            "--source",
            help="Directory of Bulk NDJSON (<Type>.ndjson, <Type>.NNN.ndjson, .gz) and/or Bundle "
            ".json files, or a FHIR base URL.",
        ),
    ],
    as_of: AsOf,
    export: Annotated[
        Path | None,
        typer.Option("--export", help="Write DIR/worklist.csv (open items, no note text)."),
    ] = None,
    store: StoreOpt = None,
    screens: Annotated[
        str | None,
        typer.Option(
            "--screens",
            help="Comma-separated screen ids (default: all): pad,clti,may_thurner,cecs.",
        ),
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            help="For a URL source: bulk ($export) or search (REST paging); default from the "
            "CapabilityStatement.",
        ),
    ] = None,
    writeback: Annotated[
        str | None,
        typer.Option(
            "--writeback",
            help="FHIR base URL: write a Task and a DetectedIssue per new item (idempotent).",
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Re-evaluate every patient (and pull everything from a FHIR server), not only the "
            "changed ones.",
        ),
    ] = False,
    runner: Annotated[
        str,
        typer.Option(
            "--runner",
            help="local (shards one after another in this process) or dask (shards spread over a "
            "Dask cluster).",
        ),
    ] = "local",
    dask_address: Annotated[
        str | None,
        typer.Option(
            "--dask-address",
            help="Dask scheduler, e.g. tcp://10.0.0.5:8786; default: a local two-worker cluster.",
        ),
    ] = None,
    accept_shrink: Annotated[
        bool,
        typer.Option(
            "--accept-shrink",
            help="Publish even though a resource type read in full lost more than "
            "VASCREEN_MAX_SHRINK (default 50%) of its records since its last full read.",
        ),
    ] = False,
    claim_store: Annotated[
        bool,
        typer.Option(
            "--claim-store",
            help="Make this work directory the store's writer when another one owns it.",
        ),
    ] = False,
    group: Annotated[
        str | None,
        typer.Option(
            "--group",
            help="For a URL source: the population as a FHIR Group id (Epic, Oracle Health, "
            "athenahealth); default VASCREEN_FHIR_GROUP_ID.",
        ),
    ] = None,
) -> None:
    """Run the nightly screen once: fetch, stage, read notes, screen, publish the worklist.

    One run at a time per work directory (VASCREEN_WORKDIR).

    Exit codes: 0 ok, 2 usage, 3 source, 4 FHIR server, 5 invalid rule, 6 store,
    7 quarantine or unread-note threshold, 8 work directory busy (another run holds it),
    9 work directory not writable, 10 worklist.csv not written (the worklist itself was
    published). The store, work directory and source are checked before anything is landed.
    """
    if mode not in (None, "bulk", "search"):
        raise _fail(f"--mode must be bulk or search, got {mode!r}", ExitCode.USAGE)
    if runner not in ("local", "dask"):
        raise _fail(f"--runner must be local or dask, got {runner!r}", ExitCode.USAGE)
    as_of_date, screen_ids = _parse_date(as_of), _parse_screens(screens)
    require_ready_or_exit(store, source, create_store=True)
    result = _run_flow(
        source=source,
        as_of=as_of_date,
        screens=screen_ids,
        store_url=store,
        export_dir=str(export) if export else None,
        mode=mode,
        writeback_url=writeback,
        progress=_progress(),
        full=full,
        runner=runner,
        dask_address=dask_address,
        accept_shrink=accept_shrink,
        claim_store=claim_store,
        group_id=group,
    )
    _print_summary(result)


def _print_summary(summary: RunSummary) -> None:
    typer.echo("\n".join(summary_lines(summary)))


@app.command()
def synth(
    patients: Annotated[int, typer.Option("--patients", min=1, help="Number of patients.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same bytes.")],
    out: Annotated[
        Path, typer.Option("--out", help="Output directory for <Type>.ndjson and labels.csv.")
    ],
) -> None:
    """Generate a synthetic cohort: Bulk NDJSON plus labels.csv with each patient's true screens."""
    from devtools.synth import write_cohort

    summary = write_cohort(patients, seed, out, progress=_progress())
    total = sum(summary.resources.values())
    typer.echo(
        f"wrote {summary.n_patients} patients, {total} resources to {out}; "
        f"labels: {out / 'labels.csv'}"
    )


@app.command()
def evaluate(
    source: Annotated[Path, typer.Option("--source", help="Directory of FHIR files.")],
    labels: Annotated[
        Path,
        typer.Option("--labels", help="CSV with patient_id,screens (space-separated screen ids)."),
    ],
    as_of: AsOf,
    screens: Annotated[
        str | None, typer.Option("--screens", help="Comma-separated screen ids (default: all).")
    ] = None,
) -> None:
    """Per-screen sensitivity and precision against labels, with misses listed by patient id."""
    from pipelines.evaluation import evaluate_source, format_report

    try:
        report = evaluate_source(
            source, labels, _parse_date(as_of), _parse_screens(screens), progress=_progress()
        )
    except ScreeningError as err:
        raise _fail(str(err), ExitCode(err.exit_code)) from None
    typer.echo(format_report(report))


@app.command()
def explain(
    screen: Annotated[
        str | None, typer.Argument(help="Screen id; all screens when omitted.")
    ] = None,
) -> None:
    """Print the screening rules as plain text a clinician can review."""
    from screens.render import render_screens

    typer.echo(render_screens(_parse_screens(screen)))


@app.command()
def validate(
    file: Annotated[
        Path,
        typer.Argument(help="A FHIR Bundle/resource .json file or an NDJSON file (.ndjson, .gz)."),
    ],
) -> None:
    """Validate each resource of one file against the FHIR R4 models (ids, reasons, no values)."""
    from pipelines.validation_report import validate_file

    try:
        checked, problems = validate_file(file)
    except ScreeningError as err:
        raise _fail(str(err), ExitCode(err.exit_code)) from None
    for resource_type, resource_id, where, detail in problems:
        typer.echo(f"{where}: {resource_type}/{resource_id}: {detail}")
    typer.echo(f"{checked} resources checked, {len(problems)} invalid")
    if problems:
        raise typer.Exit(int(ExitCode.ERROR))


@app.command()
def demo(
    patients: Annotated[
        int, typer.Option("--patients", min=10, help="Synthetic cohort size.")
    ] = 300,
    out: Annotated[
        Path, typer.Option("--out", help="Where the demo cohort, store and worklist go.")
    ] = Path("var/demo"),
) -> None:
    """Generate a synthetic cohort, run the nightly flow on it, and show where the results are."""
    from devtools.synth import write_cohort
    from devtools.synth.cohort import AS_OF_DEFAULT as DEFAULT_AS_OF

    source = out / "source"
    write_cohort(patients, 7, source, progress=_progress())
    store_url = f"sqlite:///{(out / 'vascreen.db').as_posix()}"
    result = _run_flow(
        source=str(source),
        as_of=DEFAULT_AS_OF,
        screens=None,
        store_url=store_url,
        export_dir=str(out),
        mode=None,
        progress=_progress(),
    )
    _print_summary(result)
    typer.echo(f"store: {store_url}")
    typer.echo(
        f"review app: vascreen users add ADMIN --role admin --store {store_url} "
        "(password on stdin), "
        f"then vascreen serve --store {store_url}"
    )
    typer.echo(
        f"check it: vascreen evaluate --source {source} --labels {source / 'labels.csv'} "
        f"--as-of {DEFAULT_AS_OF.isoformat()}"
    )


@app.command()
def bench(
    patients: Annotated[
        int,
        typer.Option("--patients", min=10, help="Synthetic cohort size (cached under var/bench)."),
    ] = 20000,
    seed: Annotated[int, typer.Option("--seed", help="Synthetic cohort seed.")] = 1,
    out: Annotated[Path, typer.Option("--out", help="Where cohorts and bench work go.")] = Path(
        "var/bench"
    ),
    repeat: Annotated[
        int,
        typer.Option(
            "--repeat",
            min=1,
            help="Realistic and delta nights, each this many times from the state the full run "
            "left; the table shows the median. Shared machines are noisy.",
        ),
    ] = 3,
) -> None:
    """A full run, then a realistic night (next day's as_of, 1% of patients changed in the
    snapshot) and a delta night (only the changed resources, as a _since pull delivers them):
    stage by stage, with peak memory. Prints `realistic nightly / full run: X%` and
    `delta nightly / full run: X%`; the bare DuckDB scan and its floor as information.
    """
    from devtools.bench import format_bench, run_bench

    try:
        report = run_bench(patients, seed, out, progress=_progress(), repeat=repeat)
    except ScreeningError as err:
        raise _fail(str(err), ExitCode(err.exit_code)) from None
    typer.echo(format_bench(report))


@app.command()
def serve(
    store: StoreOpt = None,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8765,
) -> None:
    """Serve the coordinators' review web app."""
    from pipelines.settings import Settings
    from review.app import serve as serve_app

    require_ready_or_exit(store, None, create_store=False)
    typer.echo(f"review app on http://{host}:{port} (Ctrl-C to stop)")
    serve_app(store or Settings().store_url, host, port)


@app.command()
def purge(
    older_than: Annotated[
        int | None,
        typer.Option(
            "--older-than",
            min=1,
            help="Days to keep; default VASCREEN_RETENTION_DAYS (365).",
        ),
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Remove PHI the worklist no longer needs: note sentences of items closed (resolved,
    dismissed, under care) and of evidence no longer current, older than the retention period;
    mirrors of earlier layouts and stale NLP cache parts in the work directory. Open items are
    never touched. Audited in the store, counts only.

    Exit codes: 0 ok, 6 store.
    """
    from pipelines.mirror.merge import mirror_path
    from pipelines.purge import purge as purge_store
    from pipelines.settings import Settings
    from pipelines.store import Store
    from screens.notes import NLP_VERSION

    settings = Settings() if store is None else Settings(store_url=store)
    days = older_than or settings.retention_days
    try:
        with Store.connect(settings.store_url) as opened:
            report = purge_store(
                opened,
                workdir=settings.workdir,
                current_mirror=mirror_path(settings.workdir, store_url=settings.store_url),
                nlp_version=NLP_VERSION,
                older_than_days=days,
                today=date.today(),
                username=os.environ.get("USER"),
            )
    except ScreeningError as err:
        raise _fail(str(err), ExitCode(err.exit_code)) from None
    typer.echo(
        f"purged before {report.cutoff}: {report.snippets} note sentences, "
        f"{report.mirrors} old mirrors, {report.cache_parts} NLP cache files"
    )


def main() -> None:
    """The console script. A rule or value set that fails to load (an `InvalidRuleError`, raised
    when `screens.rules` is first imported, whichever command does it) is one line and exit 5;
    the traceback only with -v."""
    try:
        app()
    except ScreeningError as err:
        if {"-v", "--verbose"} & set(sys.argv[1:]):
            traceback.print_exc()
        typer.echo(f"vascreen: {err}", err=True)
        traceback.clear_frames(err.__traceback__)
        raise SystemExit(int(ExitCode(err.exit_code))) from None


if __name__ == "__main__":
    main()
