"""Bounds on login work: failed-login throttles and a cap on concurrent password hashing.

Throttles (counted in the audit log, so they hold across app workers and restarts):

- per (login name, client address): `MAX_FAILURES_PER_USER` failures in `LOGIN_WINDOW`;
  a stranger's failures from one address never lock the account for other addresses;
- per client address: `MAX_FAILURES_PER_CLIENT` failures, across login names.

Login names are counted by a keyed tag (HMAC of the name with the app's secret key), whether
or not the account exists: an unknown name is throttled, answered and timed exactly like a
known one, and a password typed into the username field is never stored.

Each password check costs an argon2id hash (64 MiB, ~0.1 s): `HashGate` lets `concurrent`
run at once and `waiting` more queue; beyond that the login is refused at once (HTTP 429),
so a flood of logins cannot take the app's memory or its pages' latency with it.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from pipelines.errors import StoreError

LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 20
NAME_TAG = "login_name"


class LoginThrottledError(StoreError):
    """Too many failed logins for this login name from this client, or from this client."""


class LoginBusyError(StoreError):
    """Too many password checks at once: the caller answers 429 and the user retries."""


class HashGate:
    """At most `concurrent` password hashes at once, `waiting` more queued, the rest refused."""

    def __init__(self, concurrent: int = 2, waiting: int = 8) -> None:
        if concurrent < 1 or waiting < 0:
            raise ValueError("login concurrency must be at least 1 and the queue 0 or more")
        self.concurrent, self.waiting = concurrent, waiting
        self._slots = threading.BoundedSemaphore(concurrent)
        self._lock = threading.Lock()
        self.admitted = 0  # running or queued now
        self.running = 0
        self.peak_running = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one hashing slot.

        Raises:
            LoginBusyError: every slot and queue place is taken.
        """
        with self._lock:
            if self.admitted >= self.concurrent + self.waiting:
                raise LoginBusyError("too many sign-ins at once")
            self.admitted += 1
        try:
            with self._slots:
                with self._lock:
                    self.running += 1
                    self.peak_running = max(self.peak_running, self.running)
                try:
                    yield
                finally:
                    with self._lock:
                        self.running -= 1
        finally:
            with self._lock:
                self.admitted -= 1


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """The key that tags login names and the gate that bounds hashing, one per app."""

    key: bytes
    gate: HashGate = field(default_factory=HashGate)

    def name_tag(self, username: str) -> str:
        digest = hmac.new(self.key, username.strip().lower().encode(), hashlib.sha256)
        return digest.hexdigest()[:32]


# The command line (one user at a terminal) shares one fixed key and a gate of its own.
CLI_LIMITS = LoginLimits(key=b"vascreen-cli")
