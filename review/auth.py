"""Review-app accounts: roles, password hashing (argon2id), login with rate limiting.

Passwords are hashed with argon2id at the RFC 9106 "second recommended" profile (64 MiB,
3 passes, 4 lanes). Failed logins are counted in the audit log, so the limit holds across
app workers and restarts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from pipelines.errors import StoreError
from pipelines.store import Store
from pipelines.store.schema import utcnow

ARGON2_PARAMS: dict[str, int] = {
    "time_cost": 3,
    "memory_cost": 64 * 1024,
    "parallelism": 4,
    "hash_len": 32,
    "salt_len": 16,
}
HASHER = PasswordHasher(
    time_cost=ARGON2_PARAMS["time_cost"],
    memory_cost=ARGON2_PARAMS["memory_cost"],
    parallelism=ARGON2_PARAMS["parallelism"],
    hash_len=ARGON2_PARAMS["hash_len"],
    salt_len=ARGON2_PARAMS["salt_len"],
)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 20


class Role(StrEnum):
    COORDINATOR = "coordinator"
    ADMIN = "admin"


class LoginThrottledError(StoreError):
    """Too many failed logins for this username or client in the window."""


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: Role


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def check_password_policy(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ValueError(f"password must be {MIN_PASSWORD_LENGTH} to 1024 characters")


def add_user(store: Store, username: str, role: str, password: str) -> None:
    """Create the account.

    Raises:
        ValueError: bad username, unknown role, or a password outside the policy.
        UserExistsError: the username is taken (a new password is an explicit reset).
    """
    if not USERNAME.match(username):
        raise ValueError("username: 2-63 of a-z 0-9 . _ -, starting with a letter or digit")
    check_password_policy(password)
    store.add_user(username, str(Role(role)), hash_password(password))


def reset_password(store: Store, username: str, password: str) -> None:
    """An administrator's explicit reset: new password, every session of the user ended.

    Raises:
        ValueError: a password outside the policy.
        StoreError: no such user.
    """
    check_password_policy(password)
    store.reset_password(username, hash_password(password))


def change_password(
    store: Store,
    username: str,
    current: str,
    new: str,
    *,
    keep_session: str | None = None,
    client: str = "cli",
) -> bool:
    """A user changes their own password, proving the current one; False when it is wrong.

    Failed attempts count as failed logins (same throttle), and the user's other sessions end.

    Raises:
        ValueError: the new password is outside the policy.
        LoginThrottledError: too many recent failures.
    """
    check_password_policy(new)
    if authenticate(store, username, current, client=client, action="password_check") is None:
        return False
    store.reset_password(
        username,
        hash_password(new),
        by=username,
        keep_session=keep_session,
        action="password_change",
    )
    return True


def authenticate(
    store: Store, username: str, password: str, *, client: str, action: str = "login"
) -> User | None:
    """The user if the password matches; failures are audited and rate limited.

    `action` is what a success is audited as ("login", or "password_check" when a signed-in
    user proves their password).

    Raises:
        LoginThrottledError: too many recent failures for this username or client.
    """
    since = utcnow() - LOGIN_WINDOW
    if (
        store.count_audit("login_failed", since=since, username=username) >= MAX_FAILURES_PER_USER
        or store.count_audit("login_failed", since=since, client=client) >= MAX_FAILURES_PER_CLIENT
    ):
        store.audit(username, "login_throttled", client=client)
        raise LoginThrottledError("too many failed logins")
    row = store.get_user(username) if USERNAME.match(username) else None
    ok = _verify(row["password_hash"] if row else _dummy_hash(), password[:MAX_PASSWORD_LENGTH])
    if row is None or not ok or not row["is_active"]:
        # An unknown name is not recorded: people type passwords into the username field.
        store.audit(row["username"] if row else None, "login_failed", client=client)
        return None
    if HASHER.check_needs_rehash(row["password_hash"]):
        store.set_password_hash(username, hash_password(password))
    store.audit(username, action, client=client)
    return User(username, Role(row["role"]))


@cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both paths cost the same."""
    return HASHER.hash("vascreen-dummy-password")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
