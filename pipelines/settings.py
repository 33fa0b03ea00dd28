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
    """The pipeline's settings; `python -m pipelines.settings_doc` lists them in docs/."""

    model_config = SettingsConfigDict(
        env_prefix="VASCREEN_", extra="ignore", use_attribute_docstrings=True
    )

    store_url: str = DEFAULT_STORE_URL
    """Worklist store: `sqlite:///path.db` or `postgresql://user@host/db` (a secret when it
    holds a password). `--store` overrides it."""
    store_url_file: Path | None = None
    """A file holding the store URL (a mounted secret), read when VASCREEN_STORE_URL is unset."""
    workdir: Path = Path("var/work")
    """Work directory: raw mirror, scratch, NLP cache (holds PHI: keep it on an encrypted,
    backed-up volume). One run at a time holds it."""
    max_quarantine_ratio: float = Field(default=0.05, ge=0.0, le=1.0)
    """Fail the night (exit 7) when a larger share of any resource type is quarantined."""
    max_shrink: float = Field(default=0.5, ge=0.0, le=1.0)
    """Fail the night (exit 3) when a type read in full has lost more than this share of its
    records since its last full read (`pipelines.intake_guard`)."""
    accept_shrink: bool = False
    """Publish a night whose full read shrank (one run: `vascreen run --accept-shrink`)."""
    retention_days: int = Field(default=365, ge=1)
    """`vascreen purge`: days a closed item's note sentences and stale caches are kept."""
    claim_store: bool = False
    """Make this work directory the store's writer when another one owns it (`--claim-store`)."""
    max_unread_note_share: float = Field(default=0.05, ge=0.0, le=1.0)
    """Fail the night (exit 7) when a larger share of its notes gave no text."""
    nlp_cache: bool = True
    """Reuse NLP results for note text already read (`pipelines.nlp_cache`)."""
    max_file_bytes: int = Field(default=64 << 30, ge=1)
    """Fail the night (exit 3) on a source file that holds (or decompresses to) more bytes:
    a gzip bomb stops before it fills memory or disk (`pipelines.ingest.intake_limits`); a
    FHIR export file stops downloading there (exit 4)."""
    max_line_bytes: int = Field(default=64 << 20, ge=1)
    """Fail the night (exit 3) on a source line (one NDJSON record, or one `.json` file's
    content) longer than this. Landing reads records up to 64 MiB; were this set higher, a
    longer record would be quarantined as too large."""
    shard_size: int = Field(default=2500, ge=1)
    """Patients per shard; peak memory follows it."""
    duckdb_memory_limit: str = "1GB"
    """DuckDB memory limit per process."""
    duckdb_threads: int = Field(default=2, ge=1)
    """DuckDB threads per process."""
    nlp_workers: int = Field(default=2, ge=1)
    """NLP processes per shard with the local runner (a Dask worker uses one)."""
    fhir_base_url: str | None = None
    """The FHIR base URL the deployments read (prefect.yaml, at `prefect deploy`) and
    `vascreen check` checks."""
    fhir_auth: str = "none"
    """FHIR server auth: none, bearer, basic or smart (SMART Backend Services)."""
    fhir_token: SecretStr | None = None
    """Bearer token for `fhir_auth=bearer` (development only)."""
    fhir_username: str | None = None
    """User for `fhir_auth=basic` (development only)."""
    fhir_password: SecretStr | None = None
    """Password for `fhir_auth=basic` (development only)."""
    smart_client_id: str | None = None
    """SMART Backend Services client id registered at the EHR."""
    smart_key_file: Path | None = None
    """PEM file with the SMART client's private key (unencrypted PKCS#8 or traditional)."""
    smart_key_id: str | None = None
    """Key id (`kid`) of the registered public key; required for `fhir_auth=smart`."""
    smart_algorithm: str = "RS384"
    """JWT signing algorithm: RS384 (RSA key) or ES384 (P-384 key)."""
    smart_scope: str = ""
    """Scopes requested with the SMART token; empty: per-type system read scopes for the
    pulled types in `smart_scope_version` syntax (v1 `system/Patient.read`, v2
    `system/Patient.rs`)."""
    smart_scope_version: str = "v1"
    """SMART scope syntax: v1 or v2."""
    smart_token_url: str | None = None
    """Token endpoint (else from .well-known/smart-configuration)."""
    smart_jku: str | None = None
    """JWKS URL sent as the assertion's `jku` header."""
    fhir_types: str = ""
    """Resource types to pull, comma-separated (empty: the eight the screens read)."""
    fhir_group_id: str | None = None
    """The population as a Group (Epic, Oracle Health, athenahealth `a-1.c-<practiceId>`):
    Group/[id]/$export in bulk mode, a crawl of its members in search mode."""
    fhir_max_retry_after_s: float = Field(default=900.0, gt=0)
    """A server's Retry-After is honoured up to this many seconds per wait."""
    fhir_export_timeout_s: float = Field(default=6 * 3600.0, gt=0)
    """How long a busy server (another export running) and a running export are waited for."""
    fhir_max_download_bytes: int = Field(default=256 << 30, ge=1)
    """Fail the night (exit 4) once the FHIR pull has read more bytes off the wire."""
    fhir_connect_timeout_s: float = Field(default=30.0, gt=0)
    """Seconds to wait for a connection to the FHIR server (or its file storage)."""
    fhir_read_timeout_s: float = Field(default=60.0, gt=0)
    """Seconds to wait for the next bytes of a FHIR response before retrying it."""
    fhir_stall_window_s: float = Field(default=300.0, gt=0)
    """Fail the night (exit 4) when a FHIR response body delivers fewer than
    `fhir_min_bytes_per_s` over this many seconds: a server trickling bytes never times out."""
    fhir_min_bytes_per_s: float = Field(default=1024.0, ge=0)
    """The slowest rate a FHIR response body may keep up over `fhir_stall_window_s`."""
    fhir_max_body_bytes: int = Field(default=128 << 20, ge=1)
    """Fail the night (exit 4) on a FHIR response read into memory (a search page, a status
    answer) larger than this; a Binary note that large is counted too large instead. Export
    files go to disk and are bounded by `fhir_max_download_bytes` and `max_file_bytes`."""
    full_reconcile_days: int = Field(default=7, ge=0)
    """An incremental FHIR night pulls everything when the source's last full read is this
    many days old or older: deletions a server neither lists nor keeps in `_history` then
    leave the worklist (`pipelines.full_reconcile`). 0: every night is a full read."""
    fhir_max_attachment_bytes: int = Field(default=5 << 20, ge=1)
    """A note's attachment (Binary) larger than this is not fetched or kept: the note counts
    as unread, too large."""
    notify_webhook_url: SecretStr | None = None
    """Webhook receiving counts-only JSON each night (`docs/notifications.md`). Unset: off."""

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
