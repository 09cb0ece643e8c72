from lojal.errors import Forbidden, Invalid, NotFound, Unauthorized


class InvalidApiKey(Unauthorized):
    pass


class MissingScope(Forbidden):
    pass


class UnknownScope(Invalid):
    pass


class ApiKeyNotFound(NotFound):
    pass
