"""Journeys: a trigger, an audience condition and steps, with control groups that keep some
members out so that each journey can show what it changed (``control.py``)."""
