"""The ``lojal`` command's entry point: a module that costs nothing to import.

``lojal import purchases --workers N`` starts each worker process the way ``multiprocessing``
starts any on Linux ("spawn"): a fresh interpreter that first runs the command's own script
again, minus its ``if __name__ == "__main__"`` part, and then the worker's function. That
script imports only this module; ``lojal.cli`` — every command, and through them most of
lojal (~1 s of CPU) — is imported when the command runs, so a worker imports only what it
works with.
"""

from __future__ import annotations


def main() -> None:
    """Run the ``lojal`` command line."""
    from lojal.cli import main as run  # on running, not on import: see the module docstring

    run()
