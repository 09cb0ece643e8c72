"""A database lojal cannot work on yet: missing, not migrated, or not reachable. Each error
says what is wrong and the command or setting that fixes it."""

from __future__ import annotations

from lojal.errors import LojalError


class DatabaseNotReady(LojalError):
    """No database at the URL, or one without lojal's schema (or with an older one)."""


class DatabaseUnreachable(LojalError):
    """The database server refused the connection or cannot be found."""
