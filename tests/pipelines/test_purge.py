"""`pipelines.purge`: PHI past retention goes, open items and recent data stay, all audited."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from pipelines.purge import purge
from pipelines.store import Store
from pipelines.store.publish import item_id_for
from pipelines.store.testing import Hit, run_nightly

SENTENCE = "Rest pain in the left foot at night."
OPEN = Hit(
    "p-open",
    "clti",
    "clti.rest_pain_note",
    "DocumentReference/n1",
    date(2025, 1, 1),
    snippet=SENTENCE,
    span=(0, 9),
)
GONE = Hit(
    "p-gone",
    "clti",
    "clti.rest_pain_note",
    "DocumentReference/n2",
    date(2025, 1, 1),
    snippet=SENTENCE,
    span=(0, 9),
)


def _snippets(store: Store, hit: Hit) -> list[object]:
    frame = store.item_evidence(item_id_for(hit.patient, hit.screen), current_only=False)
    return frame.get_column("snippet").to_list()


def _file(path: Path, *, old: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    if old:
        os.utime(path, (0, 0))
    return path


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_purge_removes_old_phi_and_keeps_what_is_open(store: Store, tmp_path: Path) -> None:
    run_nightly(store, date(2025, 1, 2), [OPEN, GONE])
    run_nightly(store, date(2025, 1, 3), [OPEN])  # p-gone resolves on 2025-01-03
    current = _file(tmp_path / "mirror" / "mirror-abc123-new.duckdb", old=True)  # live: kept
    stale = _file(tmp_path / "mirror" / "mirror-abc123-old.duckdb", old=True)
    other_store = _file(tmp_path / "mirror" / "mirror-zzz999-old.duckdb", old=True)
    cache = tmp_path / "nlp-cache"
    _file(cache / "v-old" / "seen-a.parquet", old=False)  # an earlier NLP version: all goes
    _file(cache / "v-now" / "seen-old.parquet", old=True)
    _file(cache / "v-now" / "mentions-old.parquet", old=True)
    _file(cache / "v-now" / "seen-new.parquet", old=False)
    _file(cache / "v-now" / "mentions-new.parquet", old=False)

    report = purge(
        store,
        workdir=tmp_path,
        current_mirror=current,
        nlp_version="v-now",
        older_than_days=180,
        today=date(2026, 1, 1),
        username="ops",
    )

    assert report.as_dict() == {
        "cutoff": "2025-07-05",
        "snippets": 1,
        "mirrors": 1,
        "cache_parts": 3,
    }
    assert _snippets(store, GONE) == [None]
    assert _snippets(store, OPEN) == [SENTENCE]
    assert current.exists() and other_store.exists() and not stale.exists()
    assert sorted(p.name for p in cache.rglob("*.parquet")) == [
        "mentions-new.parquet",
        "seen-new.parquet",
    ]
    audit = [e for e in store.audit_entries() if e["action"] == "purge"]
    assert len(audit) == 1 and audit[0]["username"] == "ops"
    assert SENTENCE not in str(audit[0])


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_nothing_recent_is_purged(store: Store, tmp_path: Path) -> None:
    run_nightly(store, date(2025, 1, 2), [OPEN, GONE])
    run_nightly(store, date(2025, 1, 3), [OPEN])
    report = purge(
        store,
        workdir=tmp_path,
        current_mirror=tmp_path / "mirror" / "mirror-abc123-new.duckdb",
        nlp_version="v-now",
        older_than_days=365,
        today=date(2025, 6, 1),
    )
    assert (report.snippets, report.mirrors, report.cache_parts) == (0, 0, 0)
    assert _snippets(store, GONE) == [SENTENCE]


def test_the_purge_command_prints_counts_only(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app

    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Store.connect(url) as store:
        run_nightly(store, date(2020, 1, 2), [OPEN, GONE])
        run_nightly(store, date(2020, 1, 3), [OPEN])
    result = CliRunner().invoke(
        app,
        ["purge", "--older-than", "30", "--store", url],
        env={"VASCREEN_WORKDIR": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    assert "1 note sentences" in result.output and SENTENCE not in result.output
    with Store.connect(url) as store:
        assert _snippets(store, GONE) == [None]
