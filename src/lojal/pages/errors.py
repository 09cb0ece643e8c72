from lojal.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized


class SignInFailed(Unauthorized):
    """Unknown email or wrong password (the two are not told apart)."""


class LockedOut(TooManyRequests):
    """Too many failed sign-ins for the account or from the address."""


class NotSignedIn(Unauthorized):
    pass


class NotAllowed(Forbidden):
    """The signed-in role may not open this page or do this."""


class CsrfRefused(Forbidden):
    """A form came without this session's CSRF token."""


class StaffUserExists(Conflict):
    pass


class StaffUserNotFound(NotFound):
    pass


class UnknownRole(Invalid):
    pass


class WeakPassword(Invalid):
    pass


class LinkInvalid(Unauthorized):
    """A sign-in link that is unknown, used, expired or for a member who left."""


class RedemptionNotFound(NotFound):
    """A reward redemption that is not the signed-in member's (or does not exist)."""
