from lojal.errors import Conflict, Invalid, NotFound


class SegmentNotFound(NotFound):
    pass


class SegmentCodeTaken(Conflict):
    pass


class InvalidSegment(Invalid):
    """A definition or a list that cannot be saved (the field or line says where)."""


class NotAStaticList(Conflict):
    """Members are imported into a static list only; a dynamic segment's definition decides."""
