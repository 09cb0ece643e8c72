"""Coupon errors. Each refusal of a code has its own class, and its name is the stable reason
code a validation answers with (``reason``) and a reservation or commit fails with
(``error``)."""

from lojal.errors import Conflict, Invalid, NotFound, TooManyRequests


class CampaignNotFound(NotFound):
    pass


class InvalidCampaign(Invalid):
    pass


class UnknownCampaign(Invalid):
    """A definition (a challenge's reward, ...) names a coupon campaign that does not exist."""


class CodeTaken(Conflict):
    """A public code that another campaign's code already is."""


class BatchTooLarge(Invalid):
    pass


class BatchMismatch(Conflict):
    """A batch key reused with another number of codes."""


class ReservationNotFound(NotFound):
    pass


class AlreadyRedeemed(Conflict):
    """The reservation was committed on another order."""


class ReservationEnded(Conflict):
    """The reservation was released, expired, or its order returned."""


class TooManyAttempts(TooManyRequests):
    """Too many wrong codes from this API key or address: wait ``retry_after`` seconds."""


# ------------------------------------------------------------------ refusals of a code


class WrongCode(NotFound):
    """A code that is not a code: it counts as a wrong guess (``lojal.coupons.guard``)."""


class UnknownCode(WrongCode):
    pass


class MistypedCode(WrongCode):
    """The check character does not match: a typo, found without looking the code up."""


class CouponRefused(Conflict):
    """A real code that cannot be used here and now."""


class CampaignInactive(CouponRefused):
    pass


class CouponDisabled(CouponRefused):
    pass


class NotYetValid(CouponRefused):
    pass


class CouponExpired(CouponRefused):
    pass


class CouponUsedUp(CouponRefused):
    pass


class MemberLimitReached(CouponRefused):
    pass


class MemberRequired(CouponRefused):
    pass


class BoundToAnotherMember(CouponRefused):
    pass


class ChannelNotAllowed(CouponRefused):
    pass


class StoreNotAllowed(CouponRefused):
    pass


class MinimumSpendNotMet(CouponRefused):
    pass


class NoEligibleLines(CouponRefused):
    pass


class ProductNotInBasket(CouponRefused):
    pass


class CouponNotApplicable(CouponRefused):
    pass


REFUSALS: dict[str, type[CouponRefused]] = {
    cls.__name__: cls
    for cls in (
        MinimumSpendNotMet,
        NoEligibleLines,
        ProductNotInBasket,
        CouponNotApplicable,
    )
}
