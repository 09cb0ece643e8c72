from lojal.errors import Conflict, Invalid


class UnknownReferralCode(Invalid):
    pass


class ReferralsNotConfigured(Conflict):
    pass


class AlreadyReferred(Conflict):
    pass
