"""The data that flows between the request stages: a :class:`Batch` of resolved requests, the
:class:`ScoreBlock` a model returns for it, the :class:`Restriction` of what may be shown, and the
:class:`Selection` of what is shown.

A single request is a batch of one: the web path and the newsletter path are the same code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from recokit._errors import ContractError
from recokit.core.topk import densify
from recokit.data import csr_lookup, csr_rows, entry_rows, ragged_ranges, sorted_unique

__all__ = ["Batch", "LazyScores", "Restriction", "ScoreBlock", "Selection", "Source", "indicator"]


def indicator(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_array:
    """A 0/1 CSR matrix with ones at ``(rows, cols)`` (duplicates collapse), indices sorted."""
    n, m = shape
    keys = sorted_unique(np.asarray(rows, dtype=np.int64) * m + np.asarray(cols, dtype=np.int64))
    indptr = np.searchsorted(keys, np.arange(n + 1, dtype=np.int64) * m)
    return sp.csr_array((np.ones(len(keys)), keys % m, indptr), shape=shape)


@dataclass(frozen=True, eq=False)
class Batch:
    """Requests resolved against a fitted model's data (internal indices), one row per request.

    Models receive a Batch in their hooks. Every request of a batch shares ``now``, ``k`` and
    ``exclude_purchased``.

    Attributes
    ----------
    customer_ids : tuple
        The customer ids as asked (None for an anonymous visitor), for output and reasons.
    customer_idx : ndarray of int64
        The customer whose **history** the models may read, or -1: an anonymous or unknown visitor,
        or a customer whose history is hidden (no consent). Context items are always visible.
    found_idx : ndarray of int64
        The customer's index in the data whether or not their history is visible (-1: unknown).
    context : scipy.sparse.csr_array
        ``rows x items``, 1.0 at each known context item (the product on screen, the cart).
    exclude : scipy.sparse.csr_array
        ``rows x items``, 1.0 at each item the request excludes.
    """

    customer_ids: tuple[Hashable | None, ...]
    customer_idx: np.ndarray
    found_idx: np.ndarray
    context: sp.csr_array
    exclude: sp.csr_array
    now: dt.datetime | None
    k: int
    exclude_purchased: bool = False
    unknown_items: tuple[tuple[Hashable, ...], ...] = field(default=())

    @property
    def n(self) -> int:
        """Number of requests (rows)."""
        return len(self.customer_idx)

    @property
    def n_items(self) -> int:
        return int(self.context.shape[1])

    @property
    def known(self) -> np.ndarray:
        """Rows whose history the models may read."""
        return self.customer_idx >= 0

    @property
    def has_context(self) -> np.ndarray:
        """Rows with at least one known context item."""
        return np.diff(self.context.indptr) > 0

    def context_items(self, row: int) -> np.ndarray:
        """The context items of one row (sorted item indices)."""
        c = self.context
        return c.indices[c.indptr[row] : c.indptr[row + 1]].astype(np.int64)

    @staticmethod
    def concat(parts: Sequence[Batch]) -> Batch:
        """One batch of several (same ``now``, ``k`` and ``exclude_purchased``), rows in order."""
        if not parts:
            raise ContractError("Batch.concat needs at least one batch.")
        first = parts[0]
        if any((b.now, b.k, b.exclude_purchased, b.n_items) != (first.now, first.k, first.exclude_purchased, first.n_items) for b in parts):
            raise ContractError("Batch.concat: the batches must share now, k, exclude_purchased and the catalogue.")
        return replace(
            first,
            customer_ids=tuple(c for b in parts for c in b.customer_ids),
            customer_idx=np.concatenate([b.customer_idx for b in parts]),
            found_idx=np.concatenate([b.found_idx for b in parts]),
            context=sp.csr_array(sp.vstack([b.context for b in parts], format="csr")),
            exclude=sp.csr_array(sp.vstack([b.exclude for b in parts], format="csr")),
            unknown_items=tuple(u for b in parts for u in (b.unknown_items or ((),) * b.n)),
        )

    def take(self, rows: np.ndarray | Sequence[int]) -> Batch:
        """The sub-batch of the given rows, in that order."""
        r = np.asarray(rows, dtype=np.int64)
        return replace(
            self,
            customer_ids=tuple(self.customer_ids[i] for i in r.tolist()),
            customer_idx=self.customer_idx[r],
            found_idx=self.found_idx[r],
            context=csr_rows(self.context, r),
            exclude=csr_rows(self.exclude, r),
            unknown_items=tuple(self.unknown_items[i] for i in r.tolist()) if self.unknown_items else (),
        )

    def hide_history(self, visible: np.ndarray) -> Batch:
        """The same batch with the history of rows where ``visible`` is False hidden (idx -1)."""
        return replace(self, customer_idx=np.where(visible, self.customer_idx, -1).astype(np.int64))


class LazyScores(Protocol):
    """Scores a model computes only when read: :meth:`ScoreBlock.lazy`. A model whose dense block
    costs more to write than to rank (ALS: customer vectors times item vectors) ranks without it."""

    @property
    def shape(self) -> tuple[int, int]:
        """``rows x items``."""
        ...

    def dense(self) -> np.ndarray:
        """Every score, ``rows x items`` (NaN = no opinion)."""
        ...

    def at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The scores of ``(rows[j], cols[j])``, the very numbers :meth:`rank` ranks."""
        ...

    def rank(self, blocked_rows: np.ndarray, blocked_cols: np.ndarray, k: int, tie: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """``(picked, scores)``: :func:`~recokit.core.topk.top_k` of each row without the blocked
        cells, by the scores :meth:`at` gives (-1 / NaN padded)."""
        ...


class ScoreBlock:
    """A model's scores for a batch: ``rows x items`` floats where *no opinion* is NaN (dense) or
    an absent entry (sparse).

    A model builds its block with :meth:`dense` or :meth:`sparse` — whichever is natural for it —
    or :meth:`lazy` (scores computed when a stage reads them, ranked by the model's own
    :class:`LazyScores` otherwise); every stage after scoring reads it through this one API,
    never by checking the type.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> ScoreBlock.dense(np.array([[0.5, np.nan]])).to_dense().tolist()
    [[0.5, nan]]
    >>> ScoreBlock.sparse(sp.csr_array(np.array([[0.0, 2.0]]))).at(np.array([0, 0]), np.array([0, 1])).tolist()
    [nan, 2.0]
    """

    __slots__ = ("_dense", "_lazy", "_sparse")

    def __init__(self, dense: np.ndarray | None = None, sparse: sp.csr_array | None = None, lazy: LazyScores | None = None) -> None:
        if (dense is not None) + (sparse is not None) + (lazy is not None) != 1:
            raise ContractError(
                "a ScoreBlock holds exactly one of dense, sparse or lazy scores: use ScoreBlock.dense(...), "
                "ScoreBlock.sparse(...) or ScoreBlock.lazy(...)."
            )
        self._dense = dense
        self._sparse = sparse
        self._lazy = lazy

    @classmethod
    def dense(cls, values: np.ndarray) -> ScoreBlock:
        """From a dense ``rows x items`` array (NaN = no opinion)."""
        try:
            v = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ContractError(f"dense scores must be numbers; {exc}.") from None
        if v.ndim != 2:
            raise ContractError(f"dense scores must be 2-D (rows x items); got shape {v.shape}.")
        return cls(dense=v)

    @classmethod
    def sparse(cls, matrix: sp.sparray | sp.spmatrix) -> ScoreBlock:
        """From a sparse matrix whose **stored** entries are the scores (an explicit 0 is a score)."""
        # scipy-stubs: no csr_array(<sparse>, dtype=...) overload, and sparray / spmatrix are
        # the method-less mixins they are at runtime (scipy#22432)
        if isinstance(matrix, sp.csr_array) and matrix.dtype == np.float64:
            m = matrix  # already the block's form: no copy (a block is read-only)
        else:
            m = sp.csr_array(matrix, dtype=np.float64)  # type: ignore[call-overload]
        m.sort_indices()
        return cls(sparse=m)

    @classmethod
    def lazy(cls, scores: LazyScores) -> ScoreBlock:
        """From scores computed when read (:class:`LazyScores`): dense when a stage reads them
        as numbers, ranked by ``scores.rank`` without the dense form (the select stage)."""
        return cls(lazy=scores)

    def _values(self) -> np.ndarray | None:
        """The dense scores (a lazy block's computed on first read), None for a sparse block."""
        if self._dense is None and self._lazy is not None:
            self._dense = self._lazy.dense()
        return self._dense

    def ranked(self, restriction: Restriction, k: int, tie: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """``(picked, scores)`` of a lazy block ranked by its own :meth:`LazyScores.rank` when only
        per-row blocked items restrict it; None: the select stage ranks the scores."""
        if self._lazy is None or not (restriction.item_mask is None or restriction.item_mask.all()):
            return None
        return self._lazy.rank(*restriction.blocked_pairs(), k, tie)

    @property
    def shape(self) -> tuple[int, int]:
        if self._lazy is not None:
            return self._lazy.shape
        if self._dense is not None:
            return (int(self._dense.shape[0]), int(self._dense.shape[1]))
        assert self._sparse is not None
        return (int(self._sparse.shape[0]), int(self._sparse.shape[1]))

    @property
    def is_sparse(self) -> bool:
        return self._sparse is not None

    @property
    def density(self) -> float:
        """Share of (row, item) cells stored (1.0 for a dense block)."""
        if self._sparse is None:
            return 1.0
        n, m = self.shape
        return self._sparse.nnz / max(n * m, 1)

    def to_dense(self, *, copy: bool = False) -> np.ndarray:
        """``rows x items`` with NaN for no opinion (a view of a dense block unless ``copy``)."""
        if (d := self._values()) is not None:
            return d.copy() if copy else d
        assert self._sparse is not None
        return densify(self._sparse)

    def to_csr(self) -> sp.csr_array:
        """The finite scores as a CSR matrix (stored = opinion)."""
        if self._sparse is not None:
            return self._sparse
        d = self._values()
        assert d is not None
        rows, cols = np.nonzero(np.isfinite(d))
        m = sp.csr_array((d[rows, cols], (rows, cols)), shape=self.shape)
        m.sort_indices()
        return m

    def at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The scores at ``(rows[j], cols[j])`` pairs, NaN where no opinion."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        if self._lazy is not None:  # the numbers the lazy block ranks by
            return np.asarray(self._lazy.at(rows, cols), dtype=np.float64)
        if self._dense is not None:
            return self._dense[rows, cols].astype(np.float64, copy=True)
        m = self._sparse
        assert m is not None
        out = np.full(len(rows), np.nan)
        hit, pos = csr_lookup(m, rows, cols)
        out[hit] = m.data[pos[hit]]
        return out

    def row(self, r: int) -> np.ndarray:
        """One row, dense (NaN = no opinion)."""
        if (d := self._values()) is not None:
            return d[r]
        m = self._sparse
        assert m is not None
        out = np.full(self.shape[1], np.nan)
        lo, hi = m.indptr[r], m.indptr[r + 1]
        out[m.indices[lo:hi]] = m.data[lo:hi]
        return out

    def take(self, rows: np.ndarray) -> ScoreBlock:
        """The block of the given rows."""
        r = np.asarray(rows, dtype=np.int64)
        if (d := self._values()) is not None:
            return ScoreBlock.dense(d[r])
        assert self._sparse is not None
        return ScoreBlock.sparse(self._sparse[r])

    def scale_rows(self, rows: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> ScoreBlock:
        """:meth:`scale` of the given rows only (the others unchanged)."""
        r = np.asarray(rows, dtype=np.int64)
        if (d := self._values()) is not None:
            out = d.copy()
            out[r] = ScoreBlock.dense(d[r]).scale(pos, neg).to_dense()
            return ScoreBlock.dense(out)
        m = self._sparse
        assert m is not None
        in_rows = np.zeros(m.shape[0], dtype=bool)
        in_rows[r] = True
        hit = np.repeat(in_rows, np.diff(m.indptr))
        data = m.data.copy()
        f = np.where(data < 0, neg[m.indices], pos[m.indices])
        data[hit] = data[hit] * f[hit]
        return ScoreBlock.sparse(sp.csr_array((data, m.indices.copy(), m.indptr.copy()), shape=m.shape))

    def scale(self, pos: np.ndarray, neg: np.ndarray) -> ScoreBlock:
        """Scores ``>= 0`` of item ``i`` times ``pos[i]``, negative ones times ``neg[i]`` (NaN stays)."""
        if (d := self._values()) is not None:
            out = d * pos[None, :]
            if out.size and np.fmin.reduce(d, axis=None) < 0:  # fmin skips NaN; one pass, no mask
                rr, cc = np.nonzero(d < 0)
                out[rr, cc] = d[rr, cc] * neg[cc]
            return ScoreBlock.dense(out)
        m = self._sparse
        assert m is not None
        data = m.data.copy()
        f = np.where(data < 0, neg[m.indices], pos[m.indices])
        return ScoreBlock.sparse(sp.csr_array((data * f, m.indices.copy(), m.indptr.copy()), shape=m.shape))


@dataclass(frozen=True, eq=False)
class Restriction:
    """What may be shown, per row: an item mask for every row and per-row blocked items.

    ``item_mask`` (length items, or None = every item) holds the catalogue-wide hard rules (in
    stock, ...); ``keys`` the per-request ones (the context, the query's exclusions, owned items,
    a customer's rule removals) as sorted unique ``row * n_items + item`` numbers: plain numpy,
    so a request of one pays no sparse-matrix overhead.
    """

    item_mask: np.ndarray | None
    keys: np.ndarray
    n_rows: int
    n_items: int

    @classmethod
    def from_pairs(cls, rows: np.ndarray, cols: np.ndarray, n_rows: int, n_items: int, item_mask: np.ndarray | None = None) -> Restriction:
        """Block item ``cols[j]`` in row ``rows[j]``."""
        cols = np.asarray(cols, dtype=np.int64)
        keys = sorted_unique(cols if n_rows == 1 else np.asarray(rows, dtype=np.int64) * n_items + cols)
        return cls(item_mask, keys, n_rows, n_items)

    @classmethod
    def from_csr(cls, m: sp.csr_array, item_mask: np.ndarray | None = None) -> Restriction:
        """Block every stored entry of a ``rows x items`` matrix."""
        n, width = m.shape
        rows = entry_rows(m.indptr)
        if m.has_canonical_format:  # sorted, no duplicates: the keys are sorted and unique already
            return cls(item_mask, rows * int(width) + m.indices, int(n), int(width))
        return cls.from_pairs(rows, m.indices, int(n), int(width), item_mask)

    def _span(self, r: int) -> np.ndarray:
        lo, hi = np.searchsorted(self.keys, [r * self.n_items, (r + 1) * self.n_items])
        return self.keys[lo:hi] - r * self.n_items

    def allows(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Whether item ``cols[j]`` may be shown in row ``rows[j]``."""
        cols = np.asarray(cols, dtype=np.int64)
        ok = np.ones(len(cols), dtype=bool) if self.item_mask is None else self.item_mask[cols].copy()
        if len(self.keys) and len(cols):
            want = cols if self.n_rows == 1 else np.asarray(rows, dtype=np.int64) * self.n_items + cols
            pos = np.minimum(np.searchsorted(self.keys, want), len(self.keys) - 1)
            ok &= self.keys[pos] != want
        return ok

    def row_mask(self, r: int) -> np.ndarray:
        """Dense allowed mask of one row."""
        out = np.ones(self.n_items, dtype=bool) if self.item_mask is None else self.item_mask.copy()
        out[self._span(r)] = False
        return out

    def dense(self) -> np.ndarray:
        """Dense ``rows x items`` allowed mask."""
        n, m = self.n_rows, self.n_items
        out = np.ones((n, m), dtype=bool) if self.item_mask is None else np.repeat(self.item_mask[None, :], n, axis=0)
        out[self.keys // m, self.keys % m] = False
        return out

    def blocked_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, items)`` of the per-row blocked entries."""
        return self.keys // self.n_items, self.keys % self.n_items

    def take(self, rows: np.ndarray) -> Restriction:
        """The restriction of some rows, in that order."""
        r = np.asarray(rows, dtype=np.int64)
        m = self.n_items
        lo = np.searchsorted(self.keys, r * m)
        hi = np.searchsorted(self.keys, (r + 1) * m)
        pos = ragged_ranges(lo, hi)
        new_rows = np.repeat(np.arange(len(r), dtype=np.int64), hi - lo)
        keys = new_rows * m + self.keys[pos] % m
        return Restriction(self.item_mask, np.sort(keys), len(r), m)

    def also(self, item_mask: np.ndarray | None = None, keys: np.ndarray | None = None) -> Restriction:
        """This restriction and more (masks ANDed, blocked keys united)."""
        mask = self.item_mask
        if item_mask is not None:
            mask = item_mask if mask is None else mask & item_mask  # masks are never written to: shared as they are
        if keys is None or not len(keys):
            merged = self.keys
        else:
            merged = keys if not len(self.keys) else sorted_unique(np.concatenate([self.keys, keys]))
        return Restriction(mask, merged, self.n_rows, self.n_items)


class Source:
    """Where a selected item came from (codes of :attr:`Selection.source`)."""

    MODEL = 0     #: the model scored it (0: the explain stage's common case is ``not source.any()``)
    FALLBACK = 1  #: back-filled from the fallback model's ranking
    POPULAR = 2   #: back-filled from the shop's best sellers
    PINNED = 3    #: placed by a pin rule


@dataclass(frozen=True, eq=False)
class Selection:
    """The items shown: ``picked`` (rows x k item indices, -1 = empty slot, filled slots first),
    their ``scores`` (NaN for back-fill) and ``source`` codes (:class:`Source`); ``fallback`` is
    the fallback model's block over the back-filled rows ``fallback_rows`` (for their reasons)."""

    picked: np.ndarray
    scores: np.ndarray
    source: np.ndarray
    fallback: ScoreBlock | None = None
    fallback_rows: np.ndarray | None = None
