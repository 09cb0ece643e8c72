"""How the club sends (``LOJAL_MESSAGING__<FIELD>``, e.g. ``LOJAL_MESSAGING__SMTP_HOST``);
part of ``lojal.config.Settings``."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MessagingSettings(BaseModel):
    # Where members reach lojal (unsubscribe links): https://club.example
    public_url: str = "http://127.0.0.1:8000"
    email_from: str = "Club <club@localhost>"
    # The mailto: of List-Unsubscribe (an address that unsubscribes whoever writes to it)
    unsubscribe_mailto: str = "unsubscribe@localhost"
    # Signs unsubscribe tokens; by default derived from the API key pepper
    unsubscribe_secret: str | None = None
    # Tracked opens and clicks of marketing email (lojal.messaging.tracking): off by default
    track_engagement: bool = False
    # Signs tracking tokens; by default derived from the API key pepper
    tracking_secret: str | None = None
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    # DKIM (RFC 6376): the signing domain (d=), selector (s=) and the private key (PEM)
    dkim_domain: str | None = None
    dkim_selector: str | None = None
    dkim_private_key: str | None = None
    # SMS and push: a JSON POST to the provider, with this Authorization header value
    sms_url: str | None = None
    sms_authorization: str | None = None
    push_url: str | None = None
    push_authorization: str | None = None
    # Messages sent side by side
    concurrency: int = Field(default=8, ge=1, le=256)
