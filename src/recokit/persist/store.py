"""Save a fitted model to a directory and load it in another process -- without pickle.

A nightly job fits the models; the web processes that serve them all day load them from disk.
:func:`save` writes a directory (layout in :mod:`recokit.persist.layout`, format described in
``docs/persistence.md``) under a temporary name and renames it into place; :func:`load` checks
the files and hands them to :class:`~recokit.persist.codec.Reader`. Nothing read from the files
is ever executed or imported: class names are looked up in :mod:`recokit.persist.registry`,
arrays are read with ``allow_pickle=False``, and anything unknown, missing or tampered with
raises :class:`~recokit.PersistError` saying what and where.

The fitted :class:`~recokit.Dataset` is saved once even when several nested models share it
(a hybrid's components, a :class:`~recokit.Ruled` model and its fallback); after loading they
share one Dataset object again, as they did when fitted.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from recokit._errors import NotFittedError, PersistError
from recokit.core import Recommender
from recokit.persist.codec import Reader, Writer
from recokit.persist.layout import ARRAYS, FORMAT, FORMAT_VERSION, FRAMES, MODEL_JSON

__all__ = ["load", "save"]


# ------------------------------------------------------------------------------------------
# saving
# ------------------------------------------------------------------------------------------
def save(model: Recommender, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Save a fitted model (with its Dataset, nested models and rules) to the directory ``path``.

    The directory holds ``model.json``, ``arrays.npz`` and Parquet files (see
    ``docs/persistence.md``); no pickle. It is written next to ``path`` under a temporary name
    and renamed into place, so a process loading ``path`` never sees a half-written model.

    Parameters
    ----------
    model : Recommender
        A fitted recokit model (any model, :class:`~recokit.Hybrid`, :class:`~recokit.Ruled`).
    path : str or path
        The directory to create.
    overwrite : bool
        Replace an existing saved model at ``path`` (a directory holding ``model.json``):
        the old one is moved aside, the new one renamed in. Anything else at ``path`` is
        never replaced.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    NotFittedError
        The model is not fitted.
    PersistError
        ``path`` exists (and ``overwrite`` is False or it is not a saved model), or the model
        holds state recokit cannot store without pickle (the message names the attribute).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from recokit import Popularity, load, save
    >>> from recokit.datasets import sports_shop
    >>> model = Popularity().fit(sports_shop(300, seed=1))
    >>> path = save(model, Path(tempfile.mkdtemp()) / "popularity")
    >>> sorted(p.name for p in path.iterdir())
    ['arrays.npz', 'frames', 'model.json']
    >>> load(path).recommend(k=3).item_ids == model.recommend(k=3).item_ids
    True
    """
    target = Path(path)
    _check_target(model, target, overwrite)
    w = Writer()
    root = w.model(model, type(model).__name__)
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "recokit_version": _recokit_version(),
        "class": type(model).__name__,
        "root": root,
        "models": w.models,
        "datasets": w.datasets,
    }
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex}"
    tmp.mkdir(parents=True)
    try:
        _write_files(tmp, doc, w)
        _move_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _recokit_version() -> str:
    import recokit  # the package imports this module: read its version when saving

    return recokit.__version__


def _check_target(model: Any, target: Path, overwrite: bool) -> None:
    """Refuse what is not a fitted model, and a ``target`` that save may not (re)place."""
    if not isinstance(model, Recommender):
        raise PersistError(f"recokit.save expects a fitted recokit model. Got {type(model).__name__}.")
    if not model.is_fitted:
        raise NotFittedError(f"This {type(model).__name__} instance is not fitted yet. Call 'fit' with a recokit.Dataset before saving it.")
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise PersistError(f"cannot save to {str(target)!r}: it already exists.", hint="pass overwrite=True to replace a saved model, or choose a new path.")
        if not (target.is_dir() and (target / MODEL_JSON).is_file()):
            raise PersistError(f"cannot save to {str(target)!r}: it exists and is not a saved recokit model; refusing to replace it.")


def _write_files(directory: Path, doc: dict[str, Any], w: Writer) -> None:
    """``model.json``, ``arrays.npz`` and ``frames/`` into the (new, empty) ``directory``."""
    (directory / FRAMES).mkdir()
    np.savez(directory / ARRAYS, allow_pickle=False, **w.arrays)
    for name, df in w.frames.items():
        df.write_parquet(directory / name)
    (directory / MODEL_JSON).write_text(json.dumps(doc, indent=1, allow_nan=False, ensure_ascii=False), encoding="utf-8")


def _move_into_place(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``; an old saved model there is moved aside first, then removed."""
    if target.exists():
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex}"
        target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(target)


# ------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not allowed")


def load(path: str | os.PathLike[str]) -> Recommender:
    """Load a model saved by :func:`save`: ready to recommend, equal to the saved one.

    Only recokit's own classes are rebuilt (looked up by name in a fixed registry); arrays are
    read with ``allow_pickle=False``; nothing from the files is executed.

    Raises
    ------
    PersistError
        ``path`` is not a saved model, was written in another format version, names an unknown
        class, misses an array or a file, or holds a pickled array.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from recokit import ItemKNN, Query, load, save
    >>> from recokit.datasets import sports_shop
    >>> shop = sports_shop(300, seed=2)
    >>> model = ItemKNN(k_neighbours=20).fit(shop)
    >>> again = load(save(model, Path(tempfile.mkdtemp()) / "knn"))
    >>> again.get_params() == model.get_params()
    True
    >>> c = shop.customer_ids.to_list()[0]
    >>> [(r.item_id, r.reason) for r in again.recommend(Query(customer_id=c, k=5))] == [
    ...     (r.item_id, r.reason) for r in model.recommend(Query(customer_id=c, k=5))]
    True
    """
    p = Path(path)
    doc = _read_document(p)
    if not (p / ARRAYS).is_file():
        raise PersistError(f"{p}: {ARRAYS} is missing.", hint="the saved model is incomplete; save it again.")
    with np.load(p / ARRAYS, allow_pickle=False) as npz:
        return Reader(p, doc, npz).model(doc.get("root"), "root")


def _read_document(p: Path) -> dict[str, Any]:
    """``model.json`` of the directory ``p``, parsed as strict JSON and checked for format and version."""
    if not (p / MODEL_JSON).is_file():
        raise PersistError(f"{str(p)!r} is not a saved recokit model (no {MODEL_JSON} in it).", hint="give the directory written by recokit.save.")
    try:
        doc = json.loads((p / MODEL_JSON).read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PersistError(f"{p / MODEL_JSON}: not valid JSON ({exc}).") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise PersistError(f"{p / MODEL_JSON}: not a recokit model file (format {doc.get('format') if isinstance(doc, dict) else None!r}).")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise PersistError(
            f"{p}: saved in model format version {version!r}; this recokit reads version {FORMAT_VERSION} only.", hint="upgrade recokit to load it." if newer else "load it with the recokit that saved it, refit and save again."
        )
    if not isinstance(doc.get("models"), list) or not isinstance(doc.get("datasets"), list):
        raise PersistError(f"{p / MODEL_JSON}: 'models' and 'datasets' must be lists.")
    return doc
