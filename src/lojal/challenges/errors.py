from lojal.errors import Conflict, Invalid, NotFound


class ChallengeNotFound(NotFound):
    pass


class ChallengeCodeTaken(Conflict):
    pass


class InvalidChallenge(Invalid):
    pass


class ChallengeLocked(Conflict):
    """What a running challenge counts cannot change under the members taking part."""


class ChallengeEnded(Conflict):
    pass
