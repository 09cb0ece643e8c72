from lojal.errors import Conflict, Invalid, NotFound


class PlanNotFound(NotFound):
    pass


class UnknownPlan(Invalid):
    """A payment names a plan the club does not have."""


class PlanExists(Conflict):
    pass


class PlanRetired(Conflict):
    pass


class PlanCurrencyMismatch(Invalid):
    pass


class MembershipOnOtherPlan(Conflict):
    pass


class NoActiveMembership(Conflict):
    pass


class PaymentReferenceReused(Conflict):
    """A payment reference already recorded for another member, plan or amount."""
