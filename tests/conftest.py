"""Shared fixtures and hypothesis profiles.

Profiles: ``dev`` (default, quick) and ``ci`` (more examples; chosen when the CI variable is
set, as on the CI machine). Pick one by hand with ``HYPOTHESIS_PROFILE=ci pytest``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# differing_executors: the contract tests are a mixin run once per model class, on purpose
_SUPPRESS = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.differing_executors]

settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=_SUPPRESS
)
# CI explores more examples (70: the suite stays under its 4 minutes on 2 cores), derandomized so a red CI run is reproducible (and never a coin toss);
# development runs stay random and find new cases.
settings.register_profile(
    "ci", max_examples=70, deadline=None, suppress_health_check=_SUPPRESS, derandomize=True, print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def shop():
    """A small sports shop shared by the whole session (read-only!)."""
    from recokit.datasets import sports_shop

    return sports_shop(600, seed=11)
