"""What the import's fork server loads before it forks any worker (``lojal.imports.parallel``).

Importing lojal allocates a few hundred thousand objects that live as long as the process;
the garbage collector would walk them over and over while they are created and in every full
collection after. So they are imported with the collector paused and then frozen (moved out
of its reach, ``gc.freeze``) — the workers forked from the server start with them frozen too.
"""

from __future__ import annotations

import gc

gc.disable()
from lojal.imports import parallel  # noqa: E402  (the import the collector is paused for)

gc.freeze()
gc.enable()

__all__ = ["parallel"]
