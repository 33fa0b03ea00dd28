"""Review-app accounts: roles, password hashing (argon2id), password policy, login.

Passwords are hashed with argon2id at the RFC 9106 "second recommended" profile (64 MiB,
3 passes, 4 lanes). A password needs 12 characters and a zxcvbn score of at least 3 (common
passwords, repeats, sequences, keyboard walks and the user's own name score low). Login
throttles and the cap on concurrent hashing are in `review.login_limits`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

from pipelines.store import Store
from pipelines.store.schema import utcnow
from review.login_limits import (
    CLI_LIMITS,
    LOGIN_WINDOW,
    MAX_FAILURES_PER_CLIENT,
    MAX_FAILURES_PER_USER,
    NAME_TAG,
    LoginBusyError,
    LoginLimits,
    LoginThrottledError,
)

__all__ = [
    "MAX_FAILURES_PER_CLIENT",
    "MAX_FAILURES_PER_USER",
    "LoginBusyError",
    "LoginThrottledError",
]

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
MIN_PASSWORD_SCORE = 3  # zxcvbn: 0 (guessed at once) to 4; 3 is "safely unguessable" online
ZXCVBN_MAX_LENGTH = 72  # zxcvbn's own bound; the first 72 characters must be strong


class Role(StrEnum):
    COORDINATOR = "coordinator"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: Role


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def check_password_policy(password: str, username: str = "") -> None:
    """Length, then strength: common and repeated patterns and the username are refused.

    Raises:
        ValueError: one line saying why (never the password).
    """
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ValueError(f"password must be {MIN_PASSWORD_LENGTH} to 1024 characters")
    inputs = [username, "vascreen", "vascular", "coordinator"] if username else ["vascreen"]
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=inputs)
    if result["score"] < MIN_PASSWORD_SCORE:
        hint = result["feedback"].get("warning") or "it follows a common pattern"
        raise ValueError(f"password is too easy to guess ({hint.rstrip('.')}): use a passphrase")


def add_user(store: Store, username: str, role: str, password: str) -> None:
    """Create the account.

    Raises:
        ValueError: bad username, unknown role, or a password outside the policy.
        UserExistsError: the username is taken (a new password is an explicit reset).
    """
    if not USERNAME.match(username):
        raise ValueError("username: 2-63 of a-z 0-9 . _ -, starting with a letter or digit")
    check_password_policy(password, username)
    store.add_user(username, str(Role(role)), hash_password(password))


def reset_password(store: Store, username: str, password: str) -> None:
    """An administrator's explicit reset: new password, every session of the user ended.

    Raises:
        ValueError: a password outside the policy.
        StoreError: no such user.
    """
    check_password_policy(password, username)
    store.reset_password(username, hash_password(password))


def change_password(
    store: Store,
    username: str,
    current: str,
    new: str,
    *,
    keep_session: str | None = None,
    client: str = "cli",
    limits: LoginLimits = CLI_LIMITS,
) -> bool:
    """A user changes their own password, proving the current one; False when it is wrong.

    Failed attempts count as failed logins (same throttle), and the user's other sessions end.

    Raises:
        ValueError: the new password is outside the policy.
        LoginThrottledError: too many recent failures.
        LoginBusyError: too many password checks at once.
    """
    check_password_policy(new, username)
    checked = authenticate(
        store, username, current, client=client, action="password_check", limits=limits
    )
    if checked is None:
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
    store: Store,
    username: str,
    password: str,
    *,
    client: str,
    action: str = "login",
    limits: LoginLimits = CLI_LIMITS,
) -> User | None:
    """The user if the password matches; failures are audited and rate limited.

    `action` is what a success is audited as ("login", or "password_check" when a signed-in
    user proves their password). Known and unknown names take the same path: the same
    queries, one hash, the same throttle, the same answer.

    Raises:
        LoginThrottledError: too many recent failures for this name from this client, or
            from this client.
        LoginBusyError: too many password checks at once.
    """
    since = utcnow() - LOGIN_WINDOW
    tag = limits.name_tag(username)
    if (
        store.count_audit("login_failed", since=since, client=client, target_id=tag)
        >= MAX_FAILURES_PER_USER
        or store.count_audit("login_failed", since=since, client=client) >= MAX_FAILURES_PER_CLIENT
    ):
        store.audit(None, "login_throttled", NAME_TAG, tag, client=client)
        raise LoginThrottledError("too many failed logins")
    row = store.get_user(username) if USERNAME.match(username) else None
    with limits.gate.slot():
        stored = row["password_hash"] if row else _dummy_hash()
        ok = _verify(stored, password[:MAX_PASSWORD_LENGTH])
    if row is None or not ok or not row["is_active"]:
        # An unknown name is recorded by its tag only: people type passwords into it.
        store.audit(row["username"] if row else None, "login_failed", NAME_TAG, tag, client=client)
        return None
    if HASHER.check_needs_rehash(row["password_hash"]):
        with limits.gate.slot():
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
