"""Comparing models: constructor parameters, a deep fingerprint of the state, a fresh copy.

None of this needs pytest: a shop can use :func:`fingerprint` in its own checks too.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import fractions
import hashlib
import types
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from recokit.core import Recommender
from recokit.data import Dataset
from recokit.rules import RuleSet

__all__ = ["clone", "fingerprint", "lazy_fill", "same_params"]

_PLAIN = (type(None), bool, int, float, complex, str, bytes, dt.date, dt.time, dt.timedelta, decimal.Decimal, fractions.Fraction, enum.Enum, np.generic)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return np.array_equal(a, b, equal_nan=True)


def same_params(a: Any, b: Any) -> bool:
    """Constructor parameters equal, nested models compared by class and parameters (not identity).

    Examples
    --------
    >>> from recokit import Hybrid, Popularity
    >>> same_params(Hybrid([Popularity()]).get_params(), Hybrid([Popularity()]).get_params())
    True
    >>> same_params(Popularity(by="category"), Popularity())
    False
    """
    if isinstance(a, Recommender) or isinstance(b, Recommender):
        return type(a) is type(b) and same_params(a.get_params(), b.get_params())
    if isinstance(a, RuleSet):
        return type(b) is RuleSet and list(a) == list(b)
    if isinstance(a, dict):
        return type(a) is type(b) and list(a) == list(b) and all(same_params(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same_params(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and _same(a, b)
    return bool(type(a) is type(b) and a == b)


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "little"))
        h.update(p)
    return h.hexdigest()[:24]


def _array(x: np.ndarray) -> str:
    if x.dtype.hasobject:
        return _digest(repr(x.shape).encode(), repr(x.tolist()).encode())
    return _digest(str(x.dtype).encode(), repr(x.shape).encode(), np.ascontiguousarray(x).tobytes())


def _frame(x: pl.DataFrame) -> str:
    head = repr((x.shape, list(x.schema.items()))).encode()
    try:
        rows = x.hash_rows(seed=0).to_numpy().tobytes() if x.width else b""
    except pl.exceptions.PolarsError:  # a dtype polars cannot hash (Object): the values themselves
        rows = repr(x.rows()).encode()
    return _digest(head, rows)


def _walk(x: Any, path: str, out: dict[str, str], seen: dict[int, str]) -> None:
    if isinstance(x, _PLAIN):
        out[path] = f"{type(x).__name__}:{x!r}"
        return
    if id(x) in seen:  # shared or cyclic: record the aliasing, not the content twice
        out[path] = f"<same as {seen[id(x)]}>"
        return
    seen[id(x)] = path or "<root>"
    if isinstance(x, np.ndarray):
        out[path] = _array(x)
    elif sp.issparse(x):
        m: Any = x  # scipy-stubs type sparray/spmatrix as method-less mixins (scipy#22432)
        out[path] = f"{type(m).__name__}{m.shape}"
        parts = [a for a in ("data", "indices", "indptr", "row", "col", "offsets") if isinstance(getattr(x, a, None), np.ndarray)]
        if not parts:  # dok / lil: by content
            _walk(sp.coo_array(m), path + ".<coo>", out, seen)
        for a in parts:
            _walk(getattr(x, a), f"{path}.{a}", out, seen)
    elif isinstance(x, pl.DataFrame):
        out[path] = _frame(x)
    elif isinstance(x, pl.Series):
        out[path] = x.name + ":" + _frame(x.to_frame())
    elif isinstance(x, dict):
        out[path + ".<keys>"] = repr(list(x))
        for k, v in x.items():
            _walk(v, f"{path}[{k!r}]", out, seen)
    elif isinstance(x, (list, tuple)):
        out[path + ".<len>"] = f"{type(x).__name__}:{len(x)}"
        for i, v in enumerate(x):
            _walk(v, f"{path}[{i}]", out, seen)
    elif isinstance(x, (set, frozenset)):
        out[path] = repr(sorted(map(repr, x)))
    elif isinstance(x, (type, types.FunctionType, types.BuiltinFunctionType, types.ModuleType, types.MethodType)):
        out[path] = repr(x)
    elif hasattr(x, "__dict__") or hasattr(type(x), "__slots__"):
        if isinstance(x, Dataset):
            x.interactions  # noqa: B018 -- built on first read: the state is the table, read yet or not
        out[path + ".<type>"] = type(x).__qualname__
        slots = [s for c in type(x).__mro__ for s in getattr(c, "__slots__", ()) if hasattr(x, s)]
        attrs = {**{s: getattr(x, s) for s in slots}, **getattr(x, "__dict__", {})}
        for name in sorted(attrs):
            _walk(attrs[name], f"{path}.{name}" if path else name, out, seen)
    else:
        out[path] = f"{type(x).__qualname__}:{x!r}"


def fingerprint(obj: Any) -> dict[str, str]:
    """A deep fingerprint of an object's state: attribute path -> digest of its content.

    Every attribute is visited recursively (nested models, dicts, lists, any object's
    ``__dict__`` and ``__slots__``); numpy arrays count by dtype, shape and bytes, sparse
    matrices by their arrays, polars frames by schema and ``hash_rows``. Two fingerprints are
    equal when the states are; the differing keys name what changed. A Dataset's sorted
    interactions table, built on first read, is built first: it is state, read yet or not.

    Examples
    --------
    >>> from recokit import Popularity
    >>> from recokit.testing import planted
    >>> model = Popularity().fit(planted().dataset)
    >>> before = fingerprint(model)
    >>> fingerprint(model) == before
    True
    >>> model.popularity_[0] += 1.0
    >>> [k for k in before if fingerprint(model)[k] != before[k]]
    ['popularity_']
    """
    out: dict[str, str] = {}
    _walk(obj, "", out, {})
    return out


def lazy_fill(key: str, before: dict[str, str]) -> bool:
    """Whether ``key`` changed only because an attribute that was None got a value: a lazily
    built cache (an id dictionary, a Gram matrix) filled on first use, not a mutation."""
    if before.get(key) == "NoneType:None":
        return True
    if key in before:
        return False
    return any(before.get(key[:i]) == "NoneType:None" for i in range(1, len(key)) if key[i] in ".[")


def _clone_param(value: Any) -> Any:
    if isinstance(value, Recommender):
        return clone(value)
    if type(value) is dict:
        return {k: _clone_param(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_clone_param(v) for v in value)
    return value  # any other value is given as is, as type(model)(**params) would


def clone(model: Recommender) -> Recommender:
    """An unfitted model with the same configuration: ``model.clone()`` when the model has one,
    else ``type(model)(**params)`` with nested models cloned too (never shared; the dicts, lists
    and tuples that hold them are new, every other parameter value is passed as is).

    Examples
    --------
    >>> from recokit import Hybrid, Popularity
    >>> h = Hybrid({"best": Popularity()})
    >>> c = clone(h)
    >>> same_params(c.get_params(), h.get_params()), c.models["best"] is h.models["best"]
    (True, False)
    """
    own = getattr(model, "clone", None)
    if callable(own):
        return own()
    return type(model)(**{k: _clone_param(v) for k, v in model.get_params().items()})
