"""`vascreen users`: review-app accounts from the command line (added to `pipelines.cli`).

Passwords come on standard input, never as arguments (they would sit in shell history and
`ps`). Output names users and roles only. Errors are one line and an exit code: 2 for bad
input (an existing user, a short password, a wrong current password), 6 for the store.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from pipelines.errors import ExitCode, ScreeningError

if TYPE_CHECKING:
    from pipelines.store import Store

T = TypeVar("T")

users_app = typer.Typer(help="Manage review-app users.", no_args_is_help=True)

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Worklist store URL: sqlite:///var/vascreen.db (default) or postgresql://user@host/db.",
    ),
]
Username = Annotated[str, typer.Argument(help="Login name.")]


def _fail(message: str, code: ExitCode) -> typer.Exit:
    typer.echo(f"vascreen: {message}", err=True)
    return typer.Exit(int(code))


def _password(prompt: str) -> str:
    """One line of standard input (a password: 12 characters or more)."""
    line = sys.stdin.readline().rstrip("\n")
    if len(line) < 12:
        raise _fail(f"{prompt} must be at least 12 characters (read from stdin)", ExitCode.USAGE)
    return line


def _with_store(store: str | None, work: Callable[[Store], T]) -> T:
    """Run `work` on the opened store; errors become one line and an exit code."""
    from pipelines.settings import Settings
    from pipelines.store import Store
    from pipelines.store.access import UserExistsError

    try:
        with Store.connect(store or Settings().store_url) as opened:
            return work(opened)
    except UserExistsError as err:
        raise _fail(f"{err}; a new password is `vascreen users reset`", ExitCode.USAGE) from None
    except ValueError as err:
        raise _fail(str(err), ExitCode.USAGE) from None
    except ScreeningError as err:
        raise _fail(str(err), ExitCode(err.exit_code)) from None


@users_app.command("add")
def users_add(
    username: Username,
    role: Annotated[str, typer.Option("--role", help="coordinator or admin.")],
    store: StoreOpt = None,
) -> None:
    """Add a user (password on stdin); an existing user is an error: use `reset`."""
    if role not in ("coordinator", "admin"):
        raise _fail(f"--role must be coordinator or admin, got {role!r}", ExitCode.USAGE)
    from review.auth import add_user

    password = _password("password")
    _with_store(store, lambda s: add_user(s, username, role, password))
    typer.echo(f"user {username} added with role {role}")


@users_app.command("list")
def users_list(store: StoreOpt = None) -> None:
    """List users: name, role, active, created and password changed (UTC)."""
    users = _with_store(store, lambda s: s.list_users())
    typer.echo("username\trole\tactive\tcreated\tpassword_changed")
    for u in users:
        typer.echo(
            f"{u['username']}\t{u['role']}\t{'yes' if u['is_active'] else 'no'}\t"
            f"{u['created_at']:%Y-%m-%d %H:%M}\t{u['password_changed_at']:%Y-%m-%d %H:%M}"
        )


@users_app.command("deactivate")
def users_deactivate(username: Username, store: StoreOpt = None) -> None:
    """Deactivate a user: they cannot sign in, and their sessions end now."""
    _with_store(store, lambda s: s.set_active(username, False))
    typer.echo(f"user {username} deactivated")


@users_app.command("activate")
def users_activate(username: Username, store: StoreOpt = None) -> None:
    """Let a deactivated user sign in again."""
    _with_store(store, lambda s: s.set_active(username, True))
    typer.echo(f"user {username} activated")


@users_app.command("reset")
def users_reset(username: Username, store: StoreOpt = None) -> None:
    """An administrator sets a new password (stdin); the user's sessions end."""
    from review.auth import reset_password

    password = _password("password")
    _with_store(store, lambda s: reset_password(s, username, password))
    typer.echo(f"password of {username} reset")


@users_app.command("password")
def users_password(username: Username, store: StoreOpt = None) -> None:
    """A user changes their own password: the current one, then the new one, one line each on
    stdin."""
    from review.auth import change_password

    current = sys.stdin.readline().rstrip("\n")
    new = _password("new password")
    if not _with_store(store, lambda s: change_password(s, username, current, new)):
        raise _fail("current password is wrong (or no such user)", ExitCode.USAGE)
    typer.echo(f"password of {username} changed")
