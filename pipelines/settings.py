"""Operational settings: where data comes from and goes, never what is clinically flagged.

Built once at the CLI or flow entry and passed down. Environment variables use the prefix
VASCREEN_ (e.g. VASCREEN_STORE_URL). Nothing here can change clinical output: thresholds,
lookbacks and code lists live in `screens/`, versioned with the rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_STORE_URL = "sqlite:///var/vascreen.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VASCREEN_", extra="ignore")

    store_url: str = DEFAULT_STORE_URL
    # A file holding the store URL (a mounted secret): read when VASCREEN_STORE_URL is not set.
    store_url_file: Path | None = None
    workdir: Path = Path("var/work")
    max_quarantine_ratio: float = Field(default=0.05, ge=0.0, le=1.0)
    # A type read in full with fewer records than this share below its last full read fails
    # the night (`pipelines.intake_guard`), unless the shrink is accepted for one run.
    max_shrink: float = Field(default=0.5, ge=0.0, le=1.0)
    accept_shrink: bool = False
    # `vascreen purge`: days a closed item's note sentences (and stale caches) are kept.
    retention_days: int = Field(default=365, ge=1)
    # Hand the store to this work directory when another one owns it (`pipelines.store_owner`).
    claim_store: bool = False
    # Past this share of a night's notes unread (no text: `pipelines.notes.UnreadReason`), the
    # run fails before publishing, with the quarantine threshold's exit code.
    max_unread_note_share: float = Field(default=0.05, ge=0.0, le=1.0)
    nlp_cache: bool = True
    # Keep each export file's line keys for the next run (`pipelines.line_memo`).
    line_memo: bool = True
    # Scale: patients per shard (peak memory follows it), DuckDB limits per process.
    shard_size: int = Field(default=2500, ge=1)
    duckdb_memory_limit: str = "1GB"
    duckdb_threads: int = Field(default=2, ge=1)
    # NLP processes per shard run by the local runner (a Dask worker uses one: shards spread).
    nlp_workers: int = Field(default=2, ge=1)
    # FHIR server access (used when --source is an http(s) URL)
    fhir_auth: str = "none"  # none | bearer | basic | smart
    fhir_token: SecretStr | None = None
    fhir_username: str | None = None
    fhir_password: SecretStr | None = None
    smart_client_id: str | None = None
    smart_key_file: Path | None = None
    # The JWT `kid` of the registered public key: required for fhir_auth=smart (the spec's).
    smart_key_id: str | None = None
    smart_algorithm: str = "RS384"
    # Scopes: empty means per-type system read scopes for fhir_types in smart_scope_version
    # syntax (v1 `system/Patient.read`, v2 `system/Patient.rs`); a site may spell its own.
    smart_scope: str = ""
    smart_scope_version: str = "v1"
    # Token endpoint (else from .well-known/smart-configuration) and the JWKS URL for `jku`.
    smart_token_url: str | None = None
    smart_jku: str | None = None
    # Resource types to pull, comma-separated (empty: the eight the screens read).
    fhir_types: str = ""
    # The population as a Group (Epic, Oracle Health, athenahealth: `a-1.c-<practiceId>`):
    # Group/[id]/$export in bulk mode, a crawl of its members in search mode.
    fhir_group_id: str | None = None
    # Patience: a server's Retry-After is honoured up to this many seconds per wait; a busy
    # server (another export running) and a running export are each waited for this long.
    fhir_max_retry_after_s: float = Field(default=900.0, gt=0)
    fhir_export_timeout_s: float = Field(default=6 * 3600.0, gt=0)

    @model_validator(mode="after")
    def _store_url_from_file(self) -> Self:
        if self.store_url_file is not None and "store_url" not in self.model_fields_set:
            self.store_url = self.store_url_file.read_text(encoding="utf-8").strip()
        return self


def has_password(url: str) -> bool:
    """Whether a store URL carries a password (then it must not travel as a flow parameter)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return bool(make_url(url).password)
    except ArgumentError:
        return False
