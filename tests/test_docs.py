"""The documentation's examples run: every ``>>>`` example (doctest) and every ```python block.

A block that cannot run on its own (it reads the user's own files) is marked by the line
``<!-- illustrative -->`` just before it; every other block is executed from the repository root
(blocks written as ``>>>`` sessions are run by doctest instead).
"""

from __future__ import annotations

import contextlib
import doctest
import io
import os
import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted([ROOT / "README.md", *ROOT.glob("docs/**/*.md")])
BLOCK = re.compile(r"(<!-- illustrative -->\s*\n)?```python\n(.*?)```", re.S)


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_doctest_examples(path):
    result = doctest.testfile(
        str(path), module_relative=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.failed == 0


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_python_blocks_run(path):
    # blocks written as ">>>" sessions are doctests, run by test_doctest_examples
    blocks = [code for marker, code in BLOCK.findall(path.read_text()) if not marker and not code.lstrip().startswith(">>>")]
    # a real module, so that classes defined in the docs (dataclasses, models) can resolve their
    # module; the blocks run as a user's script would (no inherited __future__ flags)
    module = types.ModuleType("__docs__")
    namespace = module.__dict__
    cwd = os.getcwd()
    sys.modules["__docs__"] = module
    try:
        os.chdir(ROOT)
        with contextlib.redirect_stdout(io.StringIO()):
            for code in blocks:
                exec(compile(code, str(path), "exec", dont_inherit=True), namespace)  # the project's own docs, not user input
    finally:
        os.chdir(cwd)
        sys.modules.pop("__docs__", None)
