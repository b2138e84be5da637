"""A stable, bidirectional map between a shop's ids and contiguous indices.

Examples
--------
>>> from recokit.data import IdMap
>>> IdMap(["bike", "helmet"], name="item").index(["helmet"]).tolist()
[1]
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from recokit._errors import ConfigTypeError, DataError
from recokit.data.validation import EXAMPLES

__all__ = ["IdMap"]


class IdMap:
    """A stable, bidirectional map between a shop's ids and contiguous indices ``0..n-1``.

    Ids are kept in the order given (no sorting, no re-mapping later), so index ``i`` always means
    the same id for the life of a fitted model.

    Parameters
    ----------
    ids : sequence or polars Series
        Unique ids (ints or strings). Duplicates raise :class:`~recokit.DataError`.
    name : str
        What the ids are ("item", "customer"), used in messages.

    Examples
    --------
    >>> m = IdMap(["b", "a", "c"], name="item")
    >>> m.index(["a", "c"]).tolist()
    [1, 2]
    >>> m.id(0)
    'b'
    >>> m.index(["zzz"], missing="ignore").tolist()
    [-1]
    """

    __slots__ = ("_series", "_list", "_dict", "name")

    def __init__(self, ids: Sequence[Hashable] | pl.Series | np.ndarray, *, name: str = "id") -> None:
        series = ids if isinstance(ids, pl.Series) else pl.Series("id", list(ids) if not isinstance(ids, np.ndarray) else ids)
        series = series.alias("id")
        if series.null_count():
            raise DataError(f"{name} ids contain {series.null_count()} null value(s).")
        if series.n_unique() != len(series):
            dupes = series.filter(series.is_duplicated()).unique(maintain_order=True).head(EXAMPLES).to_list()
            raise DataError(f"{name} ids must be unique; duplicated: {dupes}.")
        self._series = series
        self._list: list[Any] | None = None
        self._dict: dict[Any, int] | None = None
        self.name = name

    # -- introspection -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._series)

    def __repr__(self) -> str:
        return f"IdMap({self.name}, n={len(self)}, dtype={self._series.dtype})"

    def __contains__(self, id_: object) -> bool:
        try:
            return id_ in self._mapping()
        except TypeError:  # unhashable
            return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdMap) and self._series.equals(other._series)

    __hash__ = None  # type: ignore[assignment]

    @property
    def dtype(self) -> pl.DataType:
        """The polars dtype of the ids."""
        return self._series.dtype

    @property
    def series(self) -> pl.Series:
        """The ids in index order, as a polars Series named ``id``."""
        return self._series

    def to_list(self) -> list[Any]:
        """The ids in index order, as Python objects."""
        if self._list is None:
            self._list = self._series.to_list()
        return self._list

    def check_kind(self, ids: Iterable[Hashable], where: str) -> None:
        """Raise :class:`~recokit.ConfigError` when an id is not of this map's kind (int or str).

        An id of the other kind can never match (``"42"`` is not ``42``), so it would silently be
        treated as unknown: a request carrying ids as strings would get cold-start answers for
        every customer.
        """
        want_int = self._series.dtype.is_integer()
        for pos, v in enumerate(ids):
            if v is None:  # an anonymous visitor
                continue
            ok = (isinstance(v, (int, np.integer)) and not isinstance(v, bool)) if want_int else isinstance(v, str)
            if not ok:
                kind = "integers" if want_int else "strings"
                raise ConfigTypeError(
                    f"{where}: {self.name} ids are {kind} in the fitted data, but got {v!r} "
                        f"({type(v).__name__}) at position {pos}.", hint=f"convert the id (e.g. {'int' if want_int else 'str'}({v!r})); for an anonymous visitor pass None."
                )

    def _mapping(self) -> dict[Any, int]:
        if self._dict is None:
            self._dict = {v: i for i, v in enumerate(self.to_list())}
        return self._dict

    # -- lookups -------------------------------------------------------------------------
    def get(self, id_: Hashable) -> int | None:
        """Index of one id, or ``None`` when it is unknown."""
        try:
            return self._mapping().get(id_)
        except TypeError:
            return None

    def id(self, idx: int) -> Any:
        """The id at index ``idx``."""
        return self.to_list()[int(idx)]

    def ids(self, idx: Iterable[int] | np.ndarray) -> list[Any]:
        """The ids at several indices (in the order given)."""
        values = self.to_list()
        return [values[int(i)] for i in np.asarray(idx, dtype=np.int64).ravel()]

    def index(
        self, ids: Iterable[Hashable], *, missing: Literal["raise", "ignore"] = "raise"
    ) -> np.ndarray:
        """Indices of several ids, as an ``int64`` array.

        ``missing="raise"`` raises :class:`~recokit.DataError` naming the unknown ids;
        ``missing="ignore"`` returns ``-1`` for them.
        """
        mapping = self._mapping()
        ids = list(ids)  # may be a generator: it is read twice when reporting unknown ids
        out = np.fromiter((mapping.get(i, -1) for i in ids), dtype=np.int64, count=len(ids))
        if missing == "raise" and (out < 0).any():
            unknown = [i for i, j in zip(ids, out, strict=False) if j < 0][:EXAMPLES]
            raise DataError(
                f"{int((out < 0).sum())} unknown {self.name} id(s), e.g. {unknown}.", hint=f"{self.name} ids must be among the {len(self)} ids the dataset was built with."
            )
        return out
