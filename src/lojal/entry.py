"""The ``lojal`` command's entry point: a module that costs nothing to import.

``lojal`` is a script that imports this module and calls :func:`main`. Processes that run the
script's module again without calling ``main`` (``multiprocessing``'s spawned children, e.g.
the server's workers) import only this; ``lojal.cli`` — the commands, and through the one that
is named most of lojal — is imported when the command runs.

That import creates a few hundred thousand objects that live as long as the process: it runs
with the garbage collector paused, and they are frozen after it (``gc.freeze``), so that no
collection walks them again while the command works.
"""

from __future__ import annotations

import gc


def main() -> None:
    """Run the ``lojal`` command line."""
    gc.disable()
    from lojal.cli import main as run  # noqa: PLC0415  (on running, not on import: above)

    gc.freeze()
    gc.enable()
    run()
