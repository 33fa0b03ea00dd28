"""Login limits as units: who the client is behind proxies, the hashing gate under a flood of
40 logins, the password policy, and the one formula-neutralising rule of every CSV."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pipelines.spreadsheet_cell import cell_text
from pipelines.store import Store
from review import auth
from review.client_address import client_address, parse_trusted_proxies
from review.login_limits import HashGate, LoginBusyError, LoginLimits
from review.worklist_view import _cell
from tests.hardening.tally import tally

PROXIES = parse_trusted_proxies("10.0.0.5, 10.9.0.0/16")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", ["1.2.3.4"], "203.0.113.9"),  # not from a proxy: the header is ignored
        ("10.0.0.5", ["198.51.100.7"], "198.51.100.7"),
        ("10.0.0.5", ["6.6.6.6, 198.51.100.7"], "198.51.100.7"),  # forged left part ignored
        ("10.0.0.5", ["6.6.6.6", "198.51.100.7, 10.9.3.3"], "198.51.100.7"),  # proxy chain
        ("10.0.0.5", ["not-an-ip"], "10.0.0.5"),
        ("10.0.0.5", [], "10.0.0.5"),
        ("10.0.0.5", ["10.9.0.1"], "10.9.0.1"),  # only proxies: the farthest one
        ("testclient", ["1.2.3.4"], "testclient"),
        (None, ["1.2.3.4"], "unknown"),
    ],
)
def test_forwarded_for_is_read_only_from_trusted_proxies(
    peer: str | None, forwarded: list[str], expected: str
) -> None:
    assert client_address(peer, forwarded, PROXIES) == expected
    assert client_address(peer, forwarded, ()) == (peer or "unknown")


def test_a_bad_trusted_proxy_setting_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match=r"'proxy\.example' is not an IP address"):
        parse_trusted_proxies("10.0.0.5, proxy.example")
    assert parse_trusted_proxies("") == ()


def test_forty_concurrent_failed_logins_hash_two_at_a_time(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 logins at once: 2 hash, 8 wait, 30 are refused at once; none hashes beyond 2."""
    release = threading.Event()

    def slow_verify(stored: str, password: str) -> bool:
        release.wait(timeout=60)
        return False

    monkeypatch.setattr(auth, "_verify", slow_verify)
    limits = LoginLimits(key=b"k", gate=HashGate(concurrent=2, waiting=8))
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        try:
            result = auth.authenticate(
                store, "boss", "wrong guess", client=f"10.1.0.{n}", limits=limits
            )
            outcome = "failed" if result is None else "signed in"
        except LoginBusyError:
            outcome = "busy"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for _ in range(6000):  # until the 30 refusals are in (each is immediate)
        with lock:
            if outcomes.count("busy") == 30:
                break
        threading.Event().wait(0.01)
    assert limits.gate.admitted == 10 and limits.gate.running == 2
    release.set()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(set(outcomes)) == ["busy", "failed"]
    assert outcomes.count("busy") == 30 and outcomes.count("failed") == 10
    assert limits.gate.peak_running == 2 and limits.gate.admitted == 0
    tally("bad inputs tried", len(threads))  # the login-work limit, 40 failed logins


@pytest.mark.parametrize(
    "password",
    [
        "aaaaaaaaaaaa",
        "abcabcabcabc",
        "password1234",
        "qwertyuiopas",
        "123456789012",
        "coordcoordcoord",
        "Password1234!",
        "a" * 100 + "Zq8#vLw2!pR",  # strong only after zxcvbn's first 72 characters
    ],
)
def test_weak_passwords_are_refused(store: Store, password: str) -> None:
    with pytest.raises(ValueError, match="too easy to guess") as caught:
        auth.add_user(store, "coordcoord", "coordinator", password)
    assert password not in str(caught.value)
    assert store.get_user("coordcoord") is None


def test_a_passphrase_passes_the_policy(store: Store) -> None:
    auth.add_user(store, "ann", "coordinator", "velvet otter tram lantern")
    assert store.get_user("ann") is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("pad-1", "pad-1"),
        (None, ""),
    ],
)
def test_one_rule_neutralises_formulas_in_every_csv(value: str | None, expected: str) -> None:
    assert cell_text(value) == expected
    assert _cell(value) == expected  # the app's exports use the same rule


def test_cli_worklist_csv_neutralises_formulas(store: Store, tmp_path: Path) -> None:
    from datetime import date

    from pipelines.store.testing import Hit, run_nightly

    hostile = ["=1+2", "@cmd", "+33", "-1-1"]
    hits = [Hit(p, "pad", "pad.low_abi", "Observation/x", date(2025, 3, 5)) for p in hostile]
    run_nightly(store, date(2025, 3, 6), hits)
    path = tmp_path / "export" / "worklist.csv"
    store.export_worklist_csv(path)
    cells = [line.split(",")[0] for line in path.read_text().splitlines()[1:]]
    for patient in hostile:
        assert "'" + patient in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
