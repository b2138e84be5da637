"""The ``recokit`` command line: ``demo``, ``rules check``, ``evaluate`` (one module each)."""

from recokit.cli.main import main

__all__ = ["main"]
