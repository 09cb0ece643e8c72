"""What insight refuses, in the domain's words (``lojal.errors``)."""

from __future__ import annotations

from lojal.errors import Conflict, Invalid, NotFound


class NotEnoughHistory(Conflict):
    """The purchases so far cannot carry a fit (no one bought twice, a fit that fails)."""


class NotFitted(Conflict):
    """No figures are stored yet: ``lojal insight refit`` or ``POST /insight/refit``."""


class MemberNotScored(NotFound):
    """The member has no stored figures (no purchase up to the fit's day, or a newer member)."""


class InvalidPeriod(Invalid):
    """Calibration and holdout days that do not make a backtest."""
