"""Settings: one typed object, read once from the environment (``LOJAL_`` prefix) and passed in.

Nothing else in lojal reads ``os.environ``. Outside development the settings refuse the
defaults that are only safe on a developer's laptop.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from lojal.messaging.settings import MessagingSettings

DEV_API_KEY_PEPPER = "development-only-pepper"
DEV_SESSION_SECRET = "development-only-session-secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LOJAL_", env_file=None, extra="ignore", env_nested_delimiter="__"
    )

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///lojal.db"
    host: str = "127.0.0.1"
    port: int = 8000
    # `lojal serve`: server processes (PostgreSQL; SQLite has one writer at a time) and
    # whether every request is logged.
    workers: PositiveInt = 1
    access_log: bool = True
    # Mixed into every API key hash so that a leaked database alone does not reveal keys.
    api_key_pepper: str = DEV_API_KEY_PEPPER
    # Idempotency records older than this are forgotten (hours).
    idempotency_ttl_hours: int = 24
    # PostgreSQL: threads that run write transactions side by side (SQLite has one writer).
    writer_threads: int = 4
    sql_echo: bool = False
    # SQLite: the page cache each connection of the server may hold (MiB; the server holds a
    # writer's, a reader's and its threads'); less for a small machine, more for a big club.
    sqlite_cache_mib: int = Field(default=64, ge=1, le=65_536)
    # Requests (lojal.web.limits): bodies over this are answered 413 ...
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # ... and callers over these quotas per window 429 (per server process; 0: no limit).
    rate_limit_per_key: int = Field(default=60_000, ge=0)
    rate_limit_per_address: int = Field(default=60_000, ge=0)
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=86_400)
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto lojal serve believes: a comma-separated
    # list of addresses or networks ("10.0.0.0/8,127.0.0.1"), "*" for any. None by default.
    trusted_proxies: str = ""
    # The web pages (lojal.pages): the key that signs their cookies, the address the member
    # portal's emailed links start with, and the mail server that sends them.
    session_secret: str = DEV_SESSION_SECRET
    public_url: str = "http://127.0.0.1:8000"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65_535)
    mail_from: str = "club@localhost"
    # Email, SMS and push (lojal.messaging.settings): LOJAL_MESSAGING__SMTP_HOST, ...
    messaging: MessagingSettings = Field(default_factory=MessagingSettings)

    @field_validator("database_url")
    @classmethod
    def _refuse_unusable_database_url(cls, url: str) -> str:
        try:
            parsed = make_url(url)
            backend, shown = parsed.get_backend_name(), parsed.render_as_string()
        except (ArgumentError, ValueError):  # not a URL, or a port that is not a number
            backend, shown = None, url
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(
                f"LOJAL_DATABASE_URL (or --database-url) {shown!r} is not a database lojal can "
                "use: give sqlite:///path/to/lojal.db or postgresql://user@host/dbname"
            )
        return url

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.environment == "production" and self.api_key_pepper == DEV_API_KEY_PEPPER:
            raise ValueError(
                "LOJAL_API_KEY_PEPPER must be set to a secret in production: set it to a long "
                "random string (python3 -c 'import secrets; print(secrets.token_urlsafe(32))') "
                "and keep it, every API key depends on it"
            )
        if self.environment == "production" and self.session_secret == DEV_SESSION_SECRET:
            raise ValueError(
                "LOJAL_SESSION_SECRET must be set to a secret in production: it signs the web "
                "pages' cookies (python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return self
