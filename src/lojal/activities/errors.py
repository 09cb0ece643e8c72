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
