from __future__ import annotations

from lojal.errors import Conflict, Invalid, NotFound


class JourneyNotFound(NotFound):
    pass


class JourneyCodeTaken(Conflict):
    pass


class InvalidJourney(Invalid):
    pass


class JourneyRunNotFound(NotFound):
    pass
