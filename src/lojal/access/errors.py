from lojal.errors import Forbidden, Invalid


class HandleRequired(Forbidden):
    """A till acts for a member only with the handle its lookup at the till gave."""


class OtherStore(Forbidden):
    """A till key records activity of its own store only."""


class NotForMembers(Forbidden):
    """A member session may not do this for its member (or at all)."""


class SignInCodeInvalid(Invalid):
    pass
