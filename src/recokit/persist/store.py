"""Save a fitted model to a directory and load it in another process -- without pickle.

A nightly job fits the models; the web processes that serve them all day load them from disk.
:func:`save` writes a directory (layout in :mod:`recokit.persist.layout`, format described in
``docs/persistence.md``) under a temporary name, flushes it to disk with its manifest of hashes
(:mod:`recokit.persist.manifest`) and swaps it into place; :func:`load` first checks every file
against the manifest, then hands the checked files to :class:`~recokit.persist.codec.Reader`.
Nothing read from the files is ever executed or imported: class names are looked up in
:mod:`recokit.persist.registry`, arrays are read by :mod:`recokit.persist.arrays` (never
pickled, never larger than their file), and anything unknown, missing or tampered with raises
:class:`~recokit.PersistError` saying what and in which file.

The fitted :class:`~recokit.Dataset` is saved once even when several nested models share it
(a hybrid's components, a :class:`~recokit.Ruled` model and its fallback); after loading they
share one Dataset object again, as they did when fitted.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recokit._errors import ConfigTypeError, NotFittedError, PersistError
from recokit.core import Recommender
from recokit.data import Dataset
from recokit.persist.arrays import write_array
from recokit.persist.codec import Reader, Writer
from recokit.persist.layout import (
    ARRAYS,
    FORMAT,
    FORMAT_VERSION,
    FRAMES,
    MANIFEST,
    MODEL_JSON,
    array_file,
)
from recokit.persist.manifest import Verified, damaged, fsync_directory, verify, write_manifest

__all__ = ["load", "save"]


# ------------------------------------------------------------------------------------------
# saving
# ------------------------------------------------------------------------------------------
def save(model: Recommender, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Save a fitted model (with its Dataset, nested models and rules) to the directory ``path``.

    The directory holds ``manifest.json`` (the SHA-256 of every other file), ``model.json``,
    one ``.npy`` file per array and Parquet files (see ``docs/persistence.md``); no pickle. It is
    written next to ``path`` under a temporary name, flushed to disk and swapped into place, so
    a process loading ``path`` never sees a half-written model, and a save that fails or is
    killed half-way leaves the previous model at ``path`` as it was.

    Parameters
    ----------
    model : Recommender
        A fitted recokit model (any model, :class:`~recokit.Hybrid`, :class:`~recokit.Ruled`).
    path : str or path
        The directory to create.
    overwrite : bool
        Replace an existing saved model at ``path`` (a directory holding ``manifest.json`` or
        ``model.json``): on Linux the two directories are exchanged in one atomic step,
        elsewhere the old one is moved aside and the new one renamed in. Anything else at
        ``path`` (a symbolic link too) is never replaced.

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
    ['arrays', 'frames', 'manifest.json', 'model.json']
    >>> load(path).recommend(k=3).item_ids == model.recommend(k=3).item_ids
    True
    """
    target = _as_path(path, "save")
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
        **w.declarations(),
    }
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex}"
    tmp.mkdir(parents=True)
    try:
        _write_files(tmp, doc, w)
        write_manifest(tmp, doc["recokit_version"])
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
    if target.is_symlink():
        raise PersistError(f"cannot save to {str(target)!r}: it is a symbolic link; recokit neither follows nor replaces links.", hint="save to a real directory path.")
    if target.exists():
        if not overwrite:
            raise PersistError(f"cannot save to {str(target)!r}: it already exists.", hint="pass overwrite=True to replace a saved model, or choose a new path.")
        if not (target.is_dir() and ((target / MANIFEST).is_file() or (target / MODEL_JSON).is_file())):
            raise PersistError(f"cannot save to {str(target)!r}: it exists and is not a saved recokit model; refusing to replace it.")


def _write_files(directory: Path, doc: dict[str, Any], w: Writer) -> None:
    """``arrays/``, ``frames/`` and ``model.json`` into the (new, empty) ``directory``."""
    (directory / ARRAYS).mkdir()
    (directory / FRAMES).mkdir()
    for key, a in w.arrays.items():
        write_array(directory / array_file(key), a)
    for name, df in w.frames.items():
        df.write_parquet(directory / name)
    (directory / MODEL_JSON).write_text(json.dumps(doc, indent=1, allow_nan=False, ensure_ascii=False), encoding="utf-8")


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    """Linux's renameat2 (glibc >= 2.28), which can exchange two paths atomically; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _exchange(a: Path, b: Path) -> bool:
    """Swap the directories ``a`` and ``b`` in one atomic step; False where the system cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):  # a file system without exchange
        return False
    raise OSError(err, os.strerror(err), str(b))


def _move_into_place(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``; an old saved model there is exchanged with it (Linux) or
    moved aside first, and removed once the new one is in place."""
    if not target.exists():
        tmp.rename(target)
    elif _exchange(tmp, target):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old model
    else:
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex}"
        target.rename(old)
        try:
            tmp.rename(target)
        except BaseException:
            old.rename(target)  # put the previous model back
            raise
        shutil.rmtree(old, ignore_errors=True)
    fsync_directory(target.parent)


# ------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------
def _as_path(path: Any, what: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigTypeError(f"{what}: the path must be a str or a pathlib.Path. Got {type(path).__name__}.", hint="e.g. recokit.load('models/tonight').")
    return Path(path)


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not allowed")


def load(path: str | os.PathLike[str]) -> Recommender:
    """Load a model saved by :func:`save`: ready to recommend, equal to the saved one.

    Before any file is parsed, every file is checked against the manifest of SHA-256 hashes
    written at save, and the directory against the files it lists (no symbolic links, nothing
    missing or extra). Then only recokit's own classes are rebuilt (looked up by name in a
    fixed registry), arrays are read with their declared dtype and shape only, sparse matrices,
    frames and parameters are checked; nothing from the files is executed. See
    ``docs/persistence.md``, "What load guarantees".

    Raises
    ------
    PersistError
        ``path`` is not a saved model or is a symbolic link, was written in another format
        version, or a file is damaged, cut, swapped, edited, missing, extra or a link, or its
        content is inconsistent (an unknown class, an array larger than its file, a sparse
        index out of range, an invalid parameter, an attribute named like a method). The
        message names the file.

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
    p = _as_path(path, "load")
    with verify(p) as files:
        doc = _read_document(p, files)
        try:
            model = Reader(p, doc, files).model(doc.get("root"), "root")
        except RecursionError:  # values nested past Python's stack: edited, not written by save
            raise damaged(p / MODEL_JSON, "holds values nested too deeply to be rebuilt (not a file recokit wrote).") from None
    _ready_to_serve(model)
    return model


def _ready_to_serve(model: Recommender) -> None:
    """Build the fitted Dataset's views a request reads (the purchase history behind "you bought
    this", the sorted table) now: a process that loads a model serves it, and its first request
    should not pay for them."""
    dataset = getattr(model, "dataset_", None)
    if isinstance(dataset, Dataset):
        dataset.purchases  # noqa: B018 -- built on first read, kept
        dataset.interactions  # noqa: B018


def _read_document(p: Path, files: Verified) -> dict[str, Any]:
    """``model.json`` (checked by the manifest), parsed as strict JSON and checked for format, version and declarations."""
    file = p / MODEL_JSON
    try:
        doc = json.loads(files.read(MODEL_JSON).decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise damaged(file, f"not valid JSON ({exc}).") from None
    except RecursionError:  # a JSON array nested thousands deep: not a file recokit wrote
        raise damaged(file, "nested too deeply to be read (not a file recokit wrote).") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise damaged(file, f"not a recokit model file (format {doc.get('format') if isinstance(doc, dict) else None!r}).")
    if doc.get("format_version") != files.manifest["format_version"]:
        raise damaged(file, f"format version {doc.get('format_version')!r}, the manifest says {files.manifest['format_version']!r}.")
    if not isinstance(doc.get("models"), list) or not isinstance(doc.get("datasets"), list):
        raise damaged(file, "'models' and 'datasets' must be lists.")
    arrays, frames = doc.get("arrays"), doc.get("frames")
    if not isinstance(arrays, dict) or not isinstance(frames, dict):
        raise damaged(file, "'arrays' and 'frames' must be objects declaring every array and frame file.")
    bad_keys = [k for k in arrays if not (k[:1] == "a" and k[1:].isdigit() and k[1:].isascii())]
    if bad_keys:
        raise damaged(file, f"bad array key(s) {bad_keys[:5]}; array keys are 'a<n>'.")
    declared = {array_file(k) for k in arrays} | set(frames)
    listed = set(files.names) - {MODEL_JSON}
    if declared != listed:
        missing, undeclared = sorted(declared - listed), sorted(listed - declared)
        raise damaged(file, f"declares other files than the manifest lists: missing {missing[:5]}, undeclared {undeclared[:5]}.")
    return doc
