import ast
from pathlib import Path

import pytest

from screens import valuesets
from screens.dsl import Criterion, Screen, any_of, days, lab, note_mention
from screens.model import InvalidRuleError
from screens.render import render_screen
from screens.rules import SCREENS
from screens.valuesets import ValueSetError

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"


def test_criterion_ids_are_unique_across_screens() -> None:
    ids = [cid for s in SCREENS.values() for cid in s.criteria_index]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("name", valuesets.available())
def test_every_value_set_loads_with_codes(name: str) -> None:
    assert len(valuesets.load(name)) > 0


@pytest.mark.parametrize("screen_id", sorted(SCREENS))
def test_rendered_rule_matches_golden(screen_id: str, update_goldens: bool) -> None:
    path = GOLDEN / f"{screen_id}.md"
    text = render_screen(screen_id)
    if update_goldens:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"rendered {screen_id} changed: review, then --update-goldens"
    )


def test_rendered_rule_lists_every_criterion() -> None:
    for screen in SCREENS.values():
        text = render_screen(screen.id)
        missing = [cid for cid in screen.criteria_index if f"`{cid}`" not in text]
        assert missing == []


def test_duplicate_criterion_id_is_rejected() -> None:
    a = Criterion("x.one", "first", note_mention("claudication"), days(10))
    b = Criterion("x.one", "second", note_mention("rest_pain"), days(10))
    with pytest.raises(InvalidRuleError, match="used twice"):
        Screen("x", 1, "t", "routine", include=any_of(a, b))


def test_rule_validation_rejects_bad_units_lookbacks_and_ids() -> None:
    with pytest.raises(InvalidRuleError):
        lab(valuesets.load("abi"), unit="mmHg", at_most=1)
    with pytest.raises(InvalidRuleError):
        days(0)
    with pytest.raises(InvalidRuleError):
        Criterion("NoDot", "x", note_mention("claudication"))


def test_value_set_without_system_column_fails(tmp_path: Path) -> None:
    (tmp_path / "abi.csv").write_text("code,display,source\n1,x,y\n")
    valuesets.set_extra_dirs((tmp_path,))
    try:
        with pytest.raises(ValueSetError, match="system"):
            valuesets.load("abi")
    finally:
        valuesets.set_extra_dirs(())


def test_site_local_codes_and_aliases_extend_a_value_set(tmp_path: Path) -> None:
    (tmp_path / "tbi.csv").write_text(
        "system,code,display,source\nurn:oid:2.16.840.1.113883.6.1,99999-9,TBI,site\n"
    )
    valuesets.set_extra_dirs((tmp_path,))
    try:
        vs = valuesets.load("tbi")
        assert vs.matches("http://loinc.org", "99999-9")
        assert vs.matches("http://vascreen.example/CodeSystem/vascular-lab", "tbi")
    finally:
        valuesets.set_extra_dirs(())


def test_prefix_codes_match_with_or_without_dots() -> None:
    vs = valuesets.load("pad_diagnosis")
    assert vs.matches("http://hl7.org/fhir/sid/icd-10-cm", "I70.213")
    assert vs.matches("ICD10CM", "i70213")
    assert not vs.matches("http://hl7.org/fhir/sid/icd-10-cm", "I70.1")


def test_screens_package_never_imports_pipelines_or_review() -> None:
    offenders = []
    for path in (ROOT / "screens").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.name}:{n}"
                for n in names
                if n.split(".")[0] in {"pipelines", "review", "prefect"}
            ]
    assert offenders == []


def test_local_directory_extends_value_sets_and_changes_the_digest(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    before = valuesets.content_digest()
    (tmp_path / "toe_pressure.csv").write_text(
        "system,code,display,source\nurn:oid:1.2.3.4,TP1,Toe,site\n"
    )
    (tmp_path / "code_systems.csv").write_text("canonical,alias\nurn:oid:1.2.3.4,LOCALLAB\n")
    monkeypatch.setattr(valuesets, "LOCAL", tmp_path)
    valuesets.system_aliases.cache_clear()
    valuesets.load.cache_clear()
    try:
        vs = valuesets.load("toe_pressure")
        assert vs.matches("LOCALLAB", "tp1") and vs.matches("urn:oid:1.2.3.4", "TP1")
        assert valuesets.content_digest() != before
    finally:
        monkeypatch.undo()
        valuesets.system_aliases.cache_clear()
        valuesets.load.cache_clear()
