from lojal.errors import Conflict, Invalid, NotFound


class OrderNotFound(NotFound):
    pass


class NothingToReturn(Conflict):
    pass


class InvalidReturn(Invalid):
    pass


class CurrencyMismatch(Invalid):
    pass


class UnknownMember(Invalid):
    pass


class DateRefused(Invalid):
    """``occurred_at`` outside what its sender may say (``lojal.activities.dating``)."""
