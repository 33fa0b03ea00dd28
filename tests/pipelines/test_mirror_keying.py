"""One work directory serving several stores or sources never lets a store miss a change."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipelines.night import run_night
from pipelines.settings import Settings
from tests.pipelines.test_incremental import change_one_percent
from tests.pipelines.test_incremental import cohort as cohort  # the module-scoped fixture

AS_OF = date(2026, 6, 30)


def test_a_store_sees_a_change_first_published_into_another_store(
    cohort: Path,
    tmp_path: Path,
) -> None:
    changed = tmp_path / "changed"
    change_one_percent(cohort, changed)
    work = tmp_path / "work"

    def run(source: Path, store: str, out: str) -> bytes:
        settings = Settings(workdir=work, store_url=f"sqlite:///{tmp_path / store}")
        run_night(str(source), settings=settings, as_of=AS_OF, export_dir=tmp_path / out)
        return (tmp_path / out / "worklist.csv").read_bytes()

    run(cohort, "x.db", "x1")
    expected = run(changed, "y.db", "y1")  # the changed data, first seen by store y
    assert run(changed, "x.db", "x2") == expected  # store x must see it too
