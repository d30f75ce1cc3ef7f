"""Configuration, read from the environment (prefix ``EKTP_``) and an optional ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EKTP_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Where the SQLite file and galleries live.")
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL. Empty means a SQLite file ektp.sqlite3 inside data_dir.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr("change-me-in-production-this-is-only-for-development"),
        description="Signs session cookies, CSRF tokens and suket QR tokens.",
    )
    default_locale: str = "id"
    session_max_age_seconds: int = 8 * 3600
    api_token_ttl_seconds: int = 30 * 24 * 3600
    max_request_body_bytes: int = 2 * 1024 * 1024
    secure_cookies: bool = False
    sql_echo: bool = False
    #: Dedup queue (penunggalan): a worker's claim on a batch lasts this long unless renewed.
    dedup_lease_seconds: int = 120
    #: Transient failures are retried this many times (with exponential backoff) before FAILED.
    dedup_max_attempts: int = 5
    #: First backoff after a transient failure; doubled per further attempt (capped at 1 hour).
    dedup_backoff_seconds: float = 30.0
    #: The ABIS gallery of the dedup queue; empty means ``data_dir / "dedup" / "gallery"``.
    dedup_gallery_dir: str = ""
    #: Run a dedup worker in a background thread of the web process (demo, single-node installs).
    dedup_in_process_worker: bool = False
    #: Recordings a dedup worker evaluates at once (threads; the searches still take turns).
    dedup_threads: int = Field(default=2, ge=1, le=16)
    #: Accept captures made by the synthetic generator (API ``synthetic``, the form's "synthetic
    #: capture"). Only for the demo and test installations: in service every capture must come
    #: from a capture device, so the default refuses them.
    allow_synthetic_capture: bool = False

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'ektp.sqlite3').as_posix()}"
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
