from lojal.errors import Forbidden, Invalid, NotFound, Unauthorized


class InvalidApiKey(Unauthorized):
    pass


class MissingScope(Forbidden):
    """The key's kind may not do this (a till calling an admin operation: OWASP API5, BFLA)."""


class InvalidKeySettings(Invalid):
    pass


class ApiKeyNotFound(NotFound):
    pass
