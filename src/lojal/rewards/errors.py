from lojal.errors import Conflict, Invalid, NotFound


class RewardNotFound(NotFound):
    pass


class InvalidReward(Invalid):
    pass


class RewardCodeTaken(Conflict):
    pass


class RewardUnavailable(Conflict):
    """The reward is switched off, or outside its validity window."""


class NotEligible(Conflict):
    """The member's tier (or, later, segment) does not give access to the reward."""


class OutOfStock(Conflict):
    pass


class PartnerPoolEmpty(Conflict):
    """No partner code is left to give out: import more (``lojal rewards import-codes``)."""


class RewardLimitReached(Conflict):
    pass


class InvalidPointsAmount(Invalid):
    pass


class ReferenceReused(Conflict):
    """A redemption reference already used for another reward."""
