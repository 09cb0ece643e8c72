from lojal.errors import Conflict, Invalid


class TiersNotConfigured(Conflict):
    pass


class UnknownTier(Invalid):
    pass
