"""Domain errors. They speak the domain; ``lojal.web.errors`` maps them to HTTP and the CLI to
exit codes. Every error has a stable ``code`` (the class name) and a readable ``detail``."""

from __future__ import annotations

from typing import Any


class LojalError(Exception):
    """Base of every error lojal raises on purpose."""

    def __init__(self, detail: str, **context: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.context = context

    @property
    def code(self) -> str:
        return type(self).__name__


class NotFound(LojalError):
    pass


class Conflict(LojalError):
    pass


class Invalid(LojalError):
    """Input that is well-formed but breaks a rule (HTTP 422)."""

    def __init__(self, detail: str, *, field: str | None = None, **context: Any) -> None:
        super().__init__(detail, **context)
        self.field = field


class Unauthorized(LojalError):
    pass


class Forbidden(LojalError):
    pass


class ProgramNotConfigured(Conflict):
    pass


class IdempotencyKeyReused(Invalid):
    pass


class TooManyRequests(LojalError):
    """The caller must wait (HTTP 429, with ``Retry-After`` from ``retry_after`` seconds)."""
