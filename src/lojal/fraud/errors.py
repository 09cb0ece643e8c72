from __future__ import annotations

from lojal.errors import Conflict, NotFound, TooManyRequests


class SpendLimitReached(TooManyRequests):
    """A member's spending is over a velocity limit of the programme (``fraud.spend_limits``)."""


class SpendingOnHold(Conflict):
    """The member's email or phone changed a short while ago (``fraud.identity_hold_hours``)."""


class AlertNotFound(NotFound):
    pass
