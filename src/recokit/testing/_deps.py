"""The kit's test-only dependencies, imported on demand with a clear error when absent."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from recokit._errors import DependencyError

__all__ = ["DependencyError", "require_dev"]


def require_dev() -> tuple[ModuleType, tuple[Any, ModuleType]]:
    """``pytest, (hypothesis.given, hypothesis.strategies)``, or a :class:`DependencyError`."""
    try:
        import pytest
        from hypothesis import given
        from hypothesis import strategies as st
    except ImportError as exc:
        raise DependencyError(
            f"recokit.testing needs pytest and hypothesis: pip install 'recokit[dev]' ({exc.name or exc} is missing).", hint="the conformance kit is for test suites; install the dev extra where the tests run."
        ) from exc
    return pytest, (given, st)
