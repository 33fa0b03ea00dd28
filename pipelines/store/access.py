"""Store methods for review-app access control: users, server-side sessions, the audit log.

Mixed into `pipelines.store.Store`. Sessions are server-side so that logout, a password change
and the idle timeout take effect at once; the cookie carries a random token of which only the
SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pipelines.errors import StoreError
from pipelines.store.engine import StoreMixin
from pipelines.store.schema import app_session, app_user, audit_log, utcnow


class UserExistsError(StoreError):
    """An account with this username exists already."""


class AccessStoreMixin(StoreMixin):
    def add_user(self, username: str, role: str, password_hash: str) -> None:
        """Create an account; an existing name is an error (a reset is `reset_password`).

        Raises:
            UserExistsError: the username is taken.
        """
        now = utcnow()
        with self.write() as conn:
            exists = conn.execute(
                sa.select(app_user.c.username).where(app_user.c.username == username)
            )
            if exists.first() is not None:
                raise UserExistsError(f"user {username} already exists")
            conn.execute(
                app_user.insert().values(
                    username=username,
                    role=role,
                    password_hash=password_hash,
                    is_active=True,
                    created_at=now,
                    password_changed_at=now,
                )
            )
            insert_audit(conn, None, "user_add", "app_user", username, {"role": role}, None)

    def reset_password(
        self,
        username: str,
        password_hash: str,
        *,
        by: str | None = None,
        keep_session: str | None = None,
        action: str = "password_reset",
    ) -> None:
        """Set a new password hash and end the user's sessions (but `keep_session`, a token).

        Raises:
            StoreError: no such user.
        """
        with self.write() as conn:
            done = conn.execute(
                app_user.update()
                .where(app_user.c.username == username)
                .values(password_hash=password_hash, password_changed_at=utcnow())
            )
            if done.rowcount != 1:
                raise StoreError(f"no user {username}")
            ended = app_session.delete().where(app_session.c.username == username)
            if keep_session is not None:
                ended = ended.where(app_session.c.session_hash != _hash_token(keep_session))
            conn.execute(ended)
            insert_audit(conn, by, action, "app_user", username, None, None)

    def set_active(self, username: str, active: bool) -> None:
        """Activate or deactivate an account; deactivating ends its sessions at once.

        Raises:
            StoreError: no such user.
        """
        with self.write() as conn:
            done = conn.execute(
                app_user.update().where(app_user.c.username == username).values(is_active=active)
            )
            if done.rowcount != 1:
                raise StoreError(f"no user {username}")
            if not active:
                conn.execute(app_session.delete().where(app_session.c.username == username))
            action = "user_activate" if active else "user_deactivate"
            insert_audit(conn, None, action, "app_user", username, None, None)

    def get_user(self, username: str) -> dict[str, Any] | None:
        with self.read() as conn:
            row = conn.execute(sa.select(app_user).where(app_user.c.username == username))
            found = row.mappings().first()
            return dict(found) if found is not None else None

    def set_password_hash(self, username: str, password_hash: str) -> None:
        with self.write() as conn:
            conn.execute(
                app_user.update()
                .where(app_user.c.username == username)
                .values(password_hash=password_hash)
            )

    def list_users(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            rows = conn.execute(
                sa.select(
                    app_user.c.username,
                    app_user.c.role,
                    app_user.c.is_active,
                    app_user.c.created_at,
                    app_user.c.password_changed_at,
                ).order_by(app_user.c.username)
            ).mappings()
            return [dict(r) for r in rows]

    def create_session(self, username: str) -> tuple[str, str]:
        """A new session; returns (cookie token, CSRF token). Only the token's hash is stored."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = utcnow()
        with self.write() as conn:
            conn.execute(
                app_session.insert().values(
                    session_hash=_hash_token(token),
                    username=username,
                    csrf_token=csrf,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        return token, csrf

    def get_session(self, token: str) -> dict[str, Any] | None:
        """The session joined with its (active) user, or None."""
        with self.read() as conn:
            row = (
                conn.execute(
                    sa.select(app_session, app_user.c.role)
                    .join(app_user, app_user.c.username == app_session.c.username)
                    .where(app_session.c.session_hash == _hash_token(token), app_user.c.is_active)
                )
                .mappings()
                .first()
            )
            return dict(row) if row is not None else None

    def touch_session(self, token: str) -> None:
        with self.write() as conn:
            conn.execute(
                app_session.update()
                .where(app_session.c.session_hash == _hash_token(token))
                .values(last_seen_at=utcnow())
            )

    def delete_session(self, token: str) -> None:
        with self.write() as conn:
            conn.execute(
                app_session.delete().where(app_session.c.session_hash == _hash_token(token))
            )

    def purge_sessions(self, idle_before: datetime) -> int:
        with self.write() as conn:
            result = conn.execute(
                app_session.delete().where(app_session.c.last_seen_at < idle_before)
            )
            return result.rowcount

    def audit(
        self,
        username: str | None,
        action: str,
        target_type: str | None = None,
        target_id: str | None = None,
        detail: dict[str, Any] | None = None,
        client: str | None = None,
    ) -> None:
        """Append an audit row. `detail` must be PHI-free (ids, counts, filter names)."""
        with self.write() as conn:
            insert_audit(conn, username, action, target_type, target_id, detail, client)

    def audit_entries(self, *, limit: int = 200) -> list[dict[str, Any]]:
        with self.read() as conn:
            rows = conn.execute(
                sa.select(audit_log)
                .order_by(audit_log.c.at.desc(), audit_log.c.audit_id)
                .limit(limit)
            ).mappings()
            return [dict(r) for r in rows]

    def count_audit(
        self,
        action: str,
        *,
        since: datetime,
        username: str | None = None,
        client: str | None = None,
        target_id: str | None = None,
    ) -> int:
        """How many `action` rows since `since` for a username, client and/or target id
        (rate limiting)."""
        query = (
            sa.select(sa.func.count())
            .select_from(audit_log)
            .where(audit_log.c.action == action, audit_log.c.at >= since)
        )
        if username is not None:
            query = query.where(audit_log.c.username == username)
        if client is not None:
            query = query.where(audit_log.c.client == client)
        if target_id is not None:
            query = query.where(audit_log.c.target_id == target_id)
        with self.read() as conn:
            return int(conn.execute(query).scalar() or 0)


def insert_audit(
    conn: sa.Connection,
    username: str | None,
    action: str,
    target_type: str | None,
    target_id: str | None,
    detail: dict[str, Any] | None,
    client: str | None,
) -> None:
    conn.execute(
        audit_log.insert().values(
            audit_id=str(uuid.uuid4()),
            at=utcnow(),
            username=username,
            client=client,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=json.dumps(detail, sort_keys=True, default=str) if detail else None,
        )
    )


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
