from lojal.errors import Invalid


class InvalidAudienceName(Invalid):
    """A name an advertising platform would refuse: one that suggests health or finances."""
