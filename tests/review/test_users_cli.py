"""`vascreen users`: add (an existing user is an error), list, deactivate, activate, an explicit
reset, and users changing their own password. Passwords come on stdin; output names users only."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.store import Store
from review import auth

runner = CliRunner()
PASSWORD = "first long passphrase"
NEW = "second long passphrase"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'var' / 'vascreen.db'}"


def users(store_url: str, *args: str, stdin: str = "") -> tuple[int, str, str]:
    result = runner.invoke(app, ["users", *args, "--store", store_url], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def can_log_in(store_url: str, username: str, password: str) -> bool:
    with Store.connect(store_url) as store:
        return auth.authenticate(store, username, password, client="test") is not None


def test_adding_an_existing_user_is_an_error_not_a_silent_reset(store_url: str) -> None:
    assert users(store_url, "add", "ann", "--role", "coordinator", stdin=PASSWORD + "\n")[0] == 0
    code, out, err = users(store_url, "add", "ann", "--role", "admin", stdin=NEW + "\n")
    assert code == 2 and out == ""
    assert (
        err.strip() == "vascreen: user ann already exists; a new password is `vascreen users reset`"
    )
    assert can_log_in(store_url, "ann", PASSWORD) and not can_log_in(store_url, "ann", NEW)


def test_list_deactivate_activate_and_reset(store_url: str) -> None:
    users(store_url, "add", "ann", "--role", "coordinator", stdin=PASSWORD + "\n")
    users(store_url, "add", "bob", "--role", "admin", stdin=PASSWORD + "\n")
    code, out, _ = users(store_url, "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split("\t")[:3] == ["username", "role", "active"]
    assert [line.split("\t")[:3] for line in lines[1:]] == [
        ["ann", "coordinator", "yes"],
        ["bob", "admin", "yes"],
    ]
    with Store.connect(store_url) as store:
        token, _ = store.create_session("ann")
    assert users(store_url, "deactivate", "ann")[0] == 0
    with Store.connect(store_url) as store:
        assert store.get_session(token) is None  # signed out at once
    assert not can_log_in(store_url, "ann", PASSWORD)
    assert "ann\tcoordinator\tno" in users(store_url, "list")[1]
    assert users(store_url, "activate", "ann")[0] == 0
    assert users(store_url, "reset", "ann", stdin=NEW + "\n")[0] == 0
    assert can_log_in(store_url, "ann", NEW) and not can_log_in(store_url, "ann", PASSWORD)
    code, _, err = users(store_url, "reset", "nobody", stdin=NEW + "\n")
    assert code == 6 and err.strip() == "vascreen: no user nobody"
    code, _, err = users(store_url, "reset", "ann", stdin="short\n")
    assert code == 2 and "at least 12 characters" in err


def test_users_change_their_own_password_with_the_current_one(store_url: str) -> None:
    users(store_url, "add", "ann", "--role", "coordinator", stdin=PASSWORD + "\n")
    code, _, err = users(store_url, "password", "ann", stdin=f"wrong password!\n{NEW}\n")
    assert code == 2 and err.strip() == "vascreen: current password is wrong (or no such user)"
    code, out, _ = users(store_url, "password", "ann", stdin=f"{PASSWORD}\n{NEW}\n")
    assert code == 0 and out.strip() == "password of ann changed"
    assert can_log_in(store_url, "ann", NEW)
    with Store.connect(store_url) as store:
        actions = [e["action"] for e in store.audit_entries()]
    assert "password_change" in actions and PASSWORD not in str(store_url)


@pytest.mark.parametrize("weak", ["aaaaaaaaaaaa", "password1234", "annannannann"])
def test_weak_passwords_are_one_line_and_exit_2(store_url: str, weak: str) -> None:
    code, out, err = users(store_url, "add", "ann", "--role", "coordinator", stdin=weak + "\n")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "too easy to guess" in err and weak not in err
    assert (
        users(store_url, "list")[1].strip() == "username\trole\tactive\tcreated\tpassword_changed"
    )
