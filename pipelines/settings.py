"""Operational settings: where data comes from and goes, never what is clinically flagged.

Built once at the CLI or flow entry and passed down. Environment variables use the prefix
VASCREEN_ (e.g. VASCREEN_STORE_URL). Nothing here can change clinical output: thresholds,
lookbacks and code lists live in `screens/`, versioned with the rules.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
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
    workdir: Path = Path("var/work")
    """Work directory: raw mirror, scratch, NLP cache (holds PHI: keep it on an encrypted,
    backed-up volume). One run at a time holds it."""
    max_quarantine_ratio: float = Field(default=0.05, ge=0.0, le=1.0)
    """Fail the night (exit 7) when a larger share of any resource type is quarantined."""
    nlp_cache: bool = True
    """Reuse NLP results for note text already read (`pipelines.nlp_cache`)."""
    line_memo: bool = True
    """Keep each export file's line keys for the next run (`pipelines.line_memo`)."""
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
    """Key id (`kid`) of the registered public key."""
    smart_algorithm: str = "RS384"
    """JWT signing algorithm: RS384 (RSA key) or ES384 (P-384 key)."""
    smart_scope: str = "system/*.read"
    """Scopes requested with the SMART token."""
    notify_webhook_url: SecretStr | None = None
    """Webhook receiving counts-only JSON each night (`docs/notifications.md`). Unset: off."""
    notify_max_unread_notes_ratio: float = Field(default=0.05, ge=0.0, le=1.0)
    """Notify when a larger share of notes could not be read (their findings are missing)."""
