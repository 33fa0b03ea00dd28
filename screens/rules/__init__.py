"""The registry of screens, in worklist order. One screen per module."""

from screens.dsl import Screen
from screens.rules.cecs import CECS
from screens.rules.clti import CLTI
from screens.rules.may_thurner import MAY_THURNER
from screens.rules.pad import PAD
from screens.rules.safety import SAFETY

SCREENS: dict[str, Screen] = {s.id: s for s in (PAD, CLTI, MAY_THURNER, CECS, SAFETY)}


class UnknownScreenError(KeyError):
    def __str__(self) -> str:
        return f"unknown screen {self.args[0]!r}; known: {', '.join(SCREENS)}"


def select_screens(ids: list[str] | None) -> list[Screen]:
    """The screens named (all when None), in registry order.

    Raises:
        UnknownScreenError: a name is not a registered screen.
    """
    if not ids:
        return list(SCREENS.values())
    for screen_id in ids:
        if screen_id not in SCREENS:
            raise UnknownScreenError(screen_id)
    return [s for s in SCREENS.values() if s.id in ids]


def rule_versions() -> dict[str, int]:
    return {s.id: s.version for s in SCREENS.values()}
