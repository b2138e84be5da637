"""Helpers to tamper with a saved model the way an editor, a broken copy or an attacker would.

:func:`rehash` rewrites ``manifest.json`` from the files as they are, with its own hashing (not
recokit's), so a test can make the manifest agree with a tampered file and reach the check
behind it (a declaration, a sparse structure, a parameter) instead of the hash check.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["copy_model", "data_files", "edit_doc", "read_doc", "rehash", "replace_array"]


def copy_model(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def data_files(path: Path) -> list[str]:
    """Every file of the saved model, relative, the manifest included."""
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())


def rehash(path: Path) -> None:
    """Make ``manifest.json`` list the files as they are now (size and SHA-256 of each)."""
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"] = {
        name: {"bytes": (path / name).stat().st_size, "sha256": hashlib.sha256((path / name).read_bytes()).hexdigest()}
        for name in data_files(path)
        if name != "manifest.json"
    }
    (path / "manifest.json").write_text(json.dumps(manifest))


def read_doc(path: Path) -> dict[str, Any]:
    return json.loads((path / "model.json").read_text())


def edit_doc(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply ``change`` to the parsed ``model.json``, write it back and re-hash the manifest."""
    doc = read_doc(path)
    change(doc)
    (path / "model.json").write_text(json.dumps(doc))
    rehash(path)


def replace_array(path: Path, key: str, a: np.ndarray, *, declare: bool = True) -> None:
    """Write ``a`` as the array ``key`` (pickled if it must be: the attacker's side), declare its
    dtype and shape in ``model.json`` (unless ``declare`` is False) and re-hash."""
    np.save(path / "arrays" / f"{key}.npy", a, allow_pickle=True)
    if declare:

        def redeclare(doc: dict[str, Any]) -> None:
            doc["arrays"][key] = {"dtype": a.dtype.str, "shape": list(a.shape)}

        edit_doc(path, redeclare)
    else:
        rehash(path)
