from lojal.errors import Invalid, ProgramNotConfigured

__all__ = ["InvalidProgram", "ProgramNotConfigured"]


class InvalidProgram(Invalid):
    pass
