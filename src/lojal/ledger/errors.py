from lojal.errors import Conflict, Invalid
from lojal.ledger.entries import InsufficientPoints, UnbalancedEntry

__all__ = ["InsufficientPoints", "LedgerMismatch", "ReasonRequired", "UnbalancedEntry"]


class ReasonRequired(Invalid):
    pass


class LedgerMismatch(Conflict):
    pass
