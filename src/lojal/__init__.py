"""lojal — loyalty programme and customer club platform."""

__version__ = "0.1.0"
