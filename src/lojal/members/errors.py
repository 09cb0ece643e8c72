from lojal.errors import Conflict, Invalid, NotFound


class MemberNotFound(NotFound):
    pass


class IdentityTaken(Conflict):
    pass


class InvalidIdentity(Invalid):
    pass


class MemberClosed(Conflict):
    pass


class CannotMerge(Conflict):
    pass
