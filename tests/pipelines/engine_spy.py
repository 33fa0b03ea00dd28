"""A stand-in for `screens.engine.evaluate_screens` that keeps the tables each call was given."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import polars as pl

import screens.engine
from pipelines.settings import Settings
from screens.dsl import Screen
from screens.engine import Evaluation


class EngineSpy:
    """Calls the real engine; `calls` holds the tables mapping of each call, in call order."""

    def __init__(self) -> None:
        self.calls: list[Mapping[str, pl.DataFrame]] = []
        self.real = screens.engine.evaluate_screens

    def __call__(
        self, screen_list: Sequence[Screen], tables: Mapping[str, pl.DataFrame], as_of: date
    ) -> Evaluation:
        self.calls.append(tables)
        return self.real(screen_list, tables, as_of)

    def table(self, name: str) -> list[pl.DataFrame]:
        """The table `name` as each call got it."""
        return [tables[name] for tables in self.calls]


def mirror_settings(work: Path) -> Settings:
    """Settings of a mirror run (`pipelines.night.run_night`) in `work`, NLP cache off."""
    return Settings(workdir=work, store_url=f"sqlite:///{work / 'store.db'}", nlp_cache=False)
