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
    model_config = SettingsConfigDict(env_prefix="VASCREEN_", extra="ignore")

    store_url: str = DEFAULT_STORE_URL
    workdir: Path = Path("var/work")
    max_quarantine_ratio: float = Field(default=0.05, ge=0.0, le=1.0)
    nlp_cache: bool = True
    # Keep each export file's line keys for the next run (`pipelines.ingest.line_memo`).
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
    smart_key_id: str | None = None
    smart_algorithm: str = "RS384"
    smart_scope: str = "system/*.read"
