"""Value sets: one CSV per concept (`system,code,display,source`), loaded and checked at import.

A code ending in `*` matches every code that starts with it (`I70.2*` is all of I70.2-); codes are
compared after normalisation (upper case, dots and spaces removed), so `I70.213`, `i70213` and
`I70 213` are one code. Systems may be written as any alias listed in `code_systems.csv`.

A site adds local codes without editing code: a `<concept>.csv` in `screens/valuesets/local/`
(same columns) is appended to the shipped set of that name, and `local/code_systems.csv`
(`canonical,alias`) adds code-system spellings. `content_digest()` hashes every file read, shipped
and local, and is recorded with each run next to the rule versions, so a change of codes is as
visible as a change of rules.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from screens.model import InvalidRuleError

HERE = Path(__file__).parent
REQUIRED_COLUMNS = ("system", "code", "display", "source")
_NORMALISE = re.compile(r"[.\s]")


class ValueSetError(InvalidRuleError):
    """A value set file is missing or malformed."""


def normalise_code(code: str) -> str:
    return _NORMALISE.sub("", code).upper()


LOCAL = HERE / "local"


@cache
def system_aliases() -> dict[str, str]:
    """Map every accepted spelling of a code system to its canonical FHIR URI."""
    aliases: dict[str, str] = {}
    for path in (HERE / "code_systems.csv", LOCAL / "code_systems.csv"):
        if not path.is_file():
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                canonical = row["canonical"].strip()
                aliases[canonical] = canonical
                aliases[row["alias"].strip()] = canonical
    return aliases


def canonical_system(system: str) -> str | None:
    return system_aliases().get(system.strip())


@dataclass(frozen=True, slots=True)
class ValueSet:
    name: str
    exact: frozenset[tuple[str, str]]  # (canonical system, normalised code)
    prefixes: tuple[tuple[str, str], ...]  # (canonical system, normalised prefix)
    digest: str
    text_patterns: tuple[str, ...] = ()  # regexes on display / code.text (system "text")

    @property
    def systems(self) -> frozenset[str]:
        return frozenset(s for s, _ in self.exact) | frozenset(s for s, _ in self.prefixes)

    def __len__(self) -> int:
        return len(self.exact) + len(self.prefixes) + len(self.text_patterns)

    def matches(self, system: str, code: str) -> bool:
        canonical = canonical_system(system)
        norm = normalise_code(code)
        if (canonical, norm) in self.exact:
            return True
        return any(canonical == s and norm.startswith(p) for s, p in self.prefixes)


def _read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueSetError(f"{path.name}: missing column(s) {', '.join(missing)}")
        return list(reader)


def _parse(name: str, paths: list[Path]) -> ValueSet:
    exact: set[tuple[str, str]] = set()
    prefixes: set[tuple[str, str]] = set()
    patterns: list[str] = []
    hasher = hashlib.sha256()
    for path in paths:
        hasher.update(path.read_bytes())
        for line, row in enumerate(_read_rows(path), start=2):
            if (row["system"] or "").strip() == TEXT_SYSTEM:
                patterns.append(_checked_pattern(path, line, row["code"] or ""))
                continue
            system = canonical_system(row["system"] or "")
            if system is None:
                raise ValueSetError(f"{path.name}:{line}: unknown code system {row['system']!r}")
            code = (row["code"] or "").strip()
            if not code:
                raise ValueSetError(f"{path.name}:{line}: empty code")
            if code.endswith("*"):
                prefixes.add((system, normalise_code(code[:-1])))
            else:
                exact.add((system, normalise_code(code)))
    if not exact and not prefixes and not patterns:
        raise ValueSetError(f"value set {name} is empty")
    return ValueSet(
        name, frozenset(exact), tuple(sorted(prefixes)), hasher.hexdigest()[:12], tuple(patterns)
    )


TEXT_SYSTEM = "text"


def _checked_pattern(path: Path, line: int, pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as err:
        raise ValueSetError(f"{path.name}:{line}: bad text pattern ({err.msg})") from None
    if not pattern.strip():
        raise ValueSetError(f"{path.name}:{line}: empty text pattern")
    return pattern


_extra_dirs: tuple[Path, ...] = ()


def set_extra_dirs(dirs: tuple[Path, ...]) -> None:
    """Register site-local value set directories; call before rule modules are imported."""
    global _extra_dirs
    _extra_dirs = tuple(dirs)
    load.cache_clear()


@cache
def load(name: str) -> ValueSet:
    """Load `<name>.csv` from this package plus any registered site directories.

    Raises:
        ValueSetError: the shipped file is missing or any file is malformed.
    """
    shipped = HERE / f"{name}.csv"
    if not shipped.is_file():
        raise ValueSetError(f"no value set file {name}.csv")
    dirs = (LOCAL, *_extra_dirs)
    paths = [shipped] + [d / f"{name}.csv" for d in dirs if (d / f"{name}.csv").is_file()]
    return _parse(name, paths)


def available() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.csv") if p.stem != "code_systems")


def content_digest() -> str:
    """A short hash of every value set and alias file, shipped and local, in name order."""
    hasher = hashlib.sha256()
    for prefix, folder in (("", HERE), ("local/", LOCAL)):
        for path in sorted(folder.glob("*.csv")):
            hasher.update(f"{prefix}{path.name}".encode())
            hasher.update(path.read_bytes())
    return hasher.hexdigest()[:12]
