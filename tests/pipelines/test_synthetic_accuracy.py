"""Issue 2's acceptance check: on `vascreen synth --patients 2000 --seed 7`, every screen reaches
sensitivity and precision of at least 0.95 against the cohort's known labels."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from devtools.synth import write_cohort
from pipelines.evaluation import evaluate_source, format_report

AS_OF = date(2026, 6, 30)


@pytest.mark.slow
def test_every_screen_reaches_095_sensitivity_and_precision_on_synth_2000(tmp_path: Path) -> None:
    write_cohort(2000, 7, tmp_path / "cohort", as_of=AS_OF)
    scores = evaluate_source(tmp_path / "cohort", tmp_path / "cohort" / "labels.csv", AS_OF, None)
    print(format_report(scores, max_ids=10))  # figures in the test log: counts and ids only
    assert {s.screen for s in scores} == {"pad", "clti", "may_thurner", "cecs"}
    for s in scores:
        assert s.true_positive >= 20, s.screen  # the cohort plants enough positives to measure
        assert s.sensitivity >= 0.95, (s.screen, s.missed[:10])
        assert s.precision >= 0.95, (s.screen, s.extra[:10])
