from lojal.errors import Conflict, Invalid, NotFound


class BadgeNotFound(NotFound):
    pass


class BadgeCodeTaken(Conflict):
    pass


class BadgeNotHeld(NotFound):
    pass


class UnknownBadge(Invalid):
    """A challenge's reward names a badge that does not exist."""
