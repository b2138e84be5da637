"""Every ``Examples`` section in recokit's docstrings runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import recokit

MODULES = ["recokit"] + sorted(
    m.name for m in pkgutil.walk_packages(recokit.__path__, prefix="recokit.") if m.name not in {"recokit.__main__"}
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {name} (run python -m doctest -v)"
