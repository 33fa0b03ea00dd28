"""The review app's site settings, from ``VASCREEN_*`` environment variables.

None of them changes who is flagged; they say how the app shows patients and runs behind a
proxy. Built once by `review.app.create_app` (tests pass one in).
"""

from __future__ import annotations

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from review.client_address import parse_trusted_proxies


class ReviewSettings(BaseSettings):
    """The review app's site settings; `python -m pipelines.settings_doc` lists them."""

    model_config = SettingsConfigDict(
        env_prefix="VASCREEN_", extra="ignore", use_attribute_docstrings=True
    )

    cookie_secure: bool = False
    """Secure cookies and HSTS: set behind the hospital's TLS proxy."""
    secret_key: SecretStr | None = None
    """Signs the login form's CSRF token; random per process when unset (open login forms
    then need a reload after a restart)."""
    mrn_system: str | None = None
    """The Patient.identifier system that holds the MRN at this site; unset: the identifier
    of type MR (HL7 v2 table 0203). No other identifier is ever shown as the MRN."""
    ehr_url_template: str | None = None
    """The "Open in EHR" link, e.g. https://ehr.example.org/chart?mrn={mrn}; `{patient_id}` (the
    FHIR logical id) and `{mrn}` are URL-encoded into it. Unset: no link."""
    hide_names: bool = False
    """Hide patient names on every page and export (search by name is then off too)."""
    trusted_proxies: str = ""
    """Proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated), e.g.
    the hospital's TLS proxy `10.2.0.7`. Default none: the TCP peer is the client."""
    login_concurrency: int = 2
    """Password checks (argon2id, 64 MiB each) running at once."""
    login_queue: int = 8
    """Sign-ins queued beyond `login_concurrency`; more at once are answered 429."""

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        parse_trusted_proxies(value)
        return value

    @field_validator("ehr_url_template")
    @classmethod
    def _web_link(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("VASCREEN_EHR_URL_TEMPLATE must start with https:// or http://")
        return value or None
