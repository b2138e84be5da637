"""ItemKNN: item-based collaborative filtering ("customers who bought this also bought ...").

The item-item similarity is learnt from the customers x items matrix, either through implicit's
nearest-neighbour kernels (cosine, BM25, TF-IDF: not re-implemented here) or from co-occurrence
counts with scipy, as Microsoft's SAR does (Jaccard, lift, asymmetric conditional probability).
A customer is scored by their (optionally time-decayed) history times the similarity; a cart or
product page the same way from its items.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np
import scipy.sparse as sp

from recokit._errors import DataError
from recokit.adapters import implicit as _implicit
from recokit.core import (
    Batch,
    CountModel,
    Query,
    Recommendations,
    ScoreBlock,
    indicator,
)
from recokit.data import (
    CountTables,
    DataChange,
    Dataset,
    TableSpec,
    all_rows,
    binary_pattern,
    count_tables,
    csr_lookup,
    csr_rows,
    entry_rows,
    ragged_ranges,
    row_positions,
    updated_tables,
)
from recokit.params import Boolean, Interval, OneOf, Optional, param

__all__ = ["ItemKNN"]

_DAY_US = 86_400 * 1_000_000
_IMPLICIT = ("cosine", "bm25", "tfidf")
_COUNTS = ("jaccard", "lift", "conditional")
SIMILARITIES = _IMPLICIT + _COUNTS


#: Rows this long on average are each cut to their top k by a partition (one numpy call per row);
#: shorter ones are ranked by one sort of all their entries (a call per row would cost more).
_LONG_ROW = 64


def _top_k_of_rows(m: sp.csr_array, rows: np.ndarray, k: int) -> np.ndarray:
    """Positions (in ``m.data``) of the ``k`` largest entries of each of ``rows`` (each longer
    than ``k``); ties at the cut: smaller column first, as the sort would order them."""
    picked = []
    for r in rows.tolist():
        start, stop = int(m.indptr[r]), int(m.indptr[r + 1])
        d = m.data[start:stop]
        cut = np.partition(d, len(d) - k)[len(d) - k]  # the k-th largest value
        above = np.flatnonzero(d > cut)
        tied = np.flatnonzero(d == cut)
        tied = tied[np.argsort(m.indices[start:stop][tied], kind="stable")[: k - len(above)]]
        picked += [start + above, start + tied]
    return np.concatenate(picked) if picked else np.empty(0, dtype=np.int64)


def top_k_per_row(sim: sp.csr_array | sp.csr_matrix, k: int) -> sp.csr_array:
    """Keep the ``k`` largest entries of each row (ties: smaller column first); only finite
    positive entries are neighbours.

    >>> m = sp.csr_array(np.array([[0.0, 0.5, 0.5, 0.9], [0.2, 0.0, 0.0, 0.0]]))
    >>> top_k_per_row(m, 2).toarray().tolist()
    [[0.0, 0.5, 0.0, 0.9], [0.2, 0.0, 0.0, 0.0]]
    """
    m = sp.csr_array(sim)
    m.data[~(np.isfinite(m.data) & (m.data > 0))] = 0.0
    m.eliminate_zeros()
    n_rows = m.shape[0]
    counts = np.diff(m.indptr)
    if counts.size == 0 or counts.max(initial=0) <= k:
        m.sort_indices()
        return m
    rows = np.repeat(np.arange(n_rows), counts)
    long = counts[rows] > k  # only the rows with too many entries need sorting
    long_rows = np.flatnonzero(counts > k)
    if int(counts[long_rows].sum()) >= _LONG_ROW * len(long_rows):
        # long rows (count-based similarities: thousands of candidates each): each row's k best
        # picked by a partition, ~25x faster than sorting every entry (5,000 x 2,000: 0.15 s, 4.3 s)
        keep = np.concatenate([np.flatnonzero(~long), _top_k_of_rows(m, long_rows, k)])
    else:
        sel = np.flatnonzero(long)
        order = sel[np.lexsort((m.indices[sel], -m.data[sel], rows[sel]))]
        rank = np.empty(len(rows), dtype=np.int64)
        rank[order] = np.arange(len(order)) - np.searchsorted(rows[order], rows[order])
        keep = np.flatnonzero(~long | (rank < k))
    out = sp.csr_array((m.data[keep], (rows[keep], m.indices[keep])), shape=m.shape)
    out.sort_indices()
    return out


#: Up to this many (row, item) cells, a batch's scores are summed directly with numpy into a dense
#: accumulator (one request: several times cheaper than scipy's product and its checks).
_DIRECT_CELLS = 4_000_000


class _Products(NamedTuple):
    """The products a direct ``q @ sim`` summed: product ``p`` added ``values[p]`` to flat cell
    ``cells[p]`` (``row * items + item``) and came from query entry ``e`` where ``ends[e - 1] <= p
    < ends[e]`` -- what the reasons need to name each listed item's best source."""

    cells: np.ndarray
    values: np.ndarray
    ends: np.ndarray


def _direct_product(q: _Rows, sim: sp.csr_array) -> tuple[sp.csr_array, _Products]:
    """``q @ sim`` keeping every reachable item (a sum of 0 included), indices sorted, and the
    products it summed.

    The products are summed per (row, item) in query-item order, as scipy's product sums them,
    so both give the same bits.
    """
    n, n_items = q.n, int(sim.shape[1])
    starts = sim.indptr[q.indices].astype(np.int64)
    lens = sim.indptr[q.indices + 1] - starts
    pos = ragged_ranges(starts, starts + lens)
    cells = sim.indices[pos].astype(np.int64) if n == 1 else np.repeat(entry_rows(q.indptr), lens) * n_items + sim.indices[pos]
    values = np.repeat(q.data, lens) * sim.data[pos]
    sums = np.bincount(cells, weights=values, minlength=n * n_items)
    reached = np.zeros(n * n_items, dtype=bool)
    reached[cells] = True
    keys = np.flatnonzero(reached)
    if n == 1:
        out = sp.csr_array((sums[keys], keys, np.array([0, len(keys)])), shape=(1, n_items))
    else:
        indptr = np.searchsorted(keys, np.arange(n + 1, dtype=np.int64) * n_items)
        out = sp.csr_array((sums[keys], keys % n_items, indptr), shape=(n, n_items))
    out.has_sorted_indices = True  # keys ascending: scipy need not check it again
    return out, _Products(cells, values, np.cumsum(lens))


def _best_from_products(p: _Products, sources: np.ndarray, want: np.ndarray, n_cells: int) -> np.ndarray:
    """Per flat cell ``want[j]``: the query item (``sources``: the query entries' items) whose
    product on that cell is the largest, the smallest item on ties (-1: no product) -- the
    choice :meth:`ItemKNN._best_sources` makes, read from the products the scores summed."""
    cells, back = np.unique(want, return_inverse=True)
    mark = np.zeros(n_cells, dtype=bool)
    mark[cells] = True
    hit = np.flatnonzero(mark[p.cells])  # the products on a listed cell: a few per listed item
    pair = np.searchsorted(cells, p.cells[hit])
    src = sources[np.searchsorted(p.ends, hit, side="right")].astype(np.int64)
    # a cell's products come in query order, its sources ascending: a stable sort by cell keeps
    # that order, so each cell's first largest product is its smallest best source
    o = np.argsort(pair, kind="stable")
    first = _first_max(p.values[hit][o], np.bincount(pair, minlength=len(cells)))
    out = np.where(first >= 0, src[o][np.maximum(first, 0)], -1) if len(o) else np.full(len(cells), -1, dtype=np.int64)
    return out[back]


#: Similarity key tables up to this size (2 MB) are searched without sorting the needles first:
#: the needles come in ascending runs (one per pair) and sorting them costs more than it saves
#: (ml-100k: 0.14 s instead of 0.35 s for 2M lookups); beyond, sorted needles win (1M keys: 2x).
_CACHED_KEYS = 262_144
#: Catalogues up to this many item pairs (2,048 items: 32 MB) keep their similarity as a dense
#: table for reasons (ml-100k: 1M (pair, history item) lookups 5x faster than the key search).
_DENSE_TABLE_CELLS = 4_194_304


def _first_max(values: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Per segment of ``values`` (consecutive runs of ``lens[j]`` values): the position of its first
    maximum, -1 when the segment is empty or holds only -inf (NaN is never a maximum)."""
    out = np.full(len(lens), -1, dtype=np.int64)
    nonempty = lens > 0
    if not nonempty.any():
        return out
    starts = (np.cumsum(lens) - lens)[nonempty]  # empty segments take no room: the spans are right
    best = np.fmax.reduceat(values, starts)
    # every maximum's position, ascending: a segment's first one is the first at or after its start
    at_max = np.flatnonzero(values == np.repeat(best, lens[nonempty]))
    first = at_max[np.minimum(np.searchsorted(at_max, starts), max(len(at_max) - 1, 0))] if len(at_max) else starts
    out[nonempty] = np.where(best > -np.inf, first, -1)
    return out


def _keep_zero_sums(q: sp.csr_array, sim: sp.csr_array, product: sp.csr_array) -> sp.csr_array:
    """``product = q @ sim`` with the sums scipy dropped for being exactly 0 stored back as 0.

    Similarities are positive and weights >= 0, so a sum is 0 only when every term is (a zero
    weight, or a product that underflows): the item is still reachable, a score of 0, not "no
    opinion". Only the rows where that can happen are recomputed, as a 0/1 pattern product.
    """
    if q.nnz == 0 or sim.nnz == 0:
        return product
    risky = q.data * sim.data.min() < np.finfo(np.float64).tiny
    if not risky.any():
        return product
    rows = np.unique(entry_rows(q.indptr)[risky])
    sub = csr_rows(q, rows)
    pattern = sp.csr_array(indicator(entry_rows(sub.indptr), sub.indices, sub.shape) @ indicator(
        entry_rows(sim.indptr), sim.indices, sim.shape
    ))  # sums of ones: never dropped
    pattern.sort_indices()
    got = csr_rows(product, rows)
    got.sort_indices()
    width = np.int64(q.shape[1])
    pat_keys = entry_rows(pattern.indptr) * width + pattern.indices
    got_keys = entry_rows(got.indptr) * width + got.indices
    values = np.zeros(pattern.nnz)
    values[np.searchsorted(pat_keys, got_keys)] = got.data  # every stored sum is in the pattern
    prod_rows = entry_rows(product.indptr)
    keep = ~np.isin(prod_rows, rows)
    return sp.csr_array(
        (
            np.concatenate([product.data[keep], values]),
            (np.concatenate([prod_rows[keep], rows[pat_keys // width]]), np.concatenate([product.indices[keep], pattern.indices])),
        ),
        shape=product.shape,
    )


class _Rows(NamedTuple):
    """Rows x items in CSR parts (plain arrays, sorted indices): the query vectors of a batch.

    Not a scipy matrix: building one costs more than one request's arithmetic (~11 us each);
    :meth:`to_csr` makes one where a batch needs scipy's product.
    """

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    n_items: int

    @property
    def n(self) -> int:
        return len(self.indptr) - 1

    def take(self, rows: np.ndarray) -> _Rows:
        """The given rows, in that order (itself when they are all of them, in order: no copy)."""
        if all_rows(rows, self.n):
            return self
        indptr, pos = row_positions(self.indptr, rows)
        return _Rows(indptr, self.indices[pos], self.data[pos], self.n_items)

    def to_csr(self) -> sp.csr_array:
        return sp.csr_array((self.data, self.indices, self.indptr), shape=(self.n, self.n_items))


class ItemKNN(CountModel):
    """Item-based collaborative filtering with a choice of item-item similarity.

    Parameters
    ----------
    similarity : {'cosine', 'bm25', 'tfidf', 'jaccard', 'lift', 'conditional'}
        ``cosine``, ``bm25`` and ``tfidf`` are computed by implicit's nearest-neighbour models from
        the summed interaction weights. ``jaccard``, ``lift`` and ``conditional`` come from
        co-occurrence counts (how many customers interacted with both items), as in Microsoft's
        SAR: Jaccard ``c_ij / (c_i + c_j - c_ij)``, lift (below, shrunk toward independence) and
        the asymmetric conditional probability ``P(j | i) = c_ij / c_i`` (row ``i``: "of the
        buyers of i, the share who bought j").
    k_neighbours : int
        Neighbours kept per item (the item itself never counts).
    shrinkage : float
        Shrinks similarities computed from few customers: ``sim * c_ij / (c_ij + shrinkage)``.
        For the implicit flavours the neighbours are re-ranked after shrinking among a candidate
        pool of ``4 * k_neighbours`` items with the highest raw similarity.
    half_life_days : float, optional
        Time decay of a customer's history at scoring time: an interaction ``age`` days before
        the query's ``now`` (default: the data's last timestamp) weighs ``0.5 ** (age /
        half_life_days)`` times its weight (event weights and quantities already included).
        Interactions after ``now`` count as age 0. Needs timestamps. The similarity itself is
        learnt from undecayed weights.
    min_co_count : int
        Count-based flavours only: pairs seen together by fewer customers are not neighbours.
    binary : bool
        ``cosine``, ``bm25``, ``tfidf`` and the customer's history at scoring time: 0/1 (bought
        it or not) instead of the summed interaction weights, so an item bought ten times weighs
        what one bought once does (the count-based flavours always count customers).
    lift_prior : float
        ``similarity="lift"`` only: the lift is shrunk toward 1 (independence) by this many
        pseudo-co-occurrences, ``(c_ij + a) / (e_ij + a)`` with ``e_ij = c_i c_j / n`` the
        co-occurrences independence predicts, and the similarity is its excess over 1 (pairs
        with none are not neighbours). Raw lift ranks two rare items seen together once above
        any real pair. The default 1000 was chosen on the validation splits of the shared
        datasets (docs/quality.md). 0: the raw lift ``n c_ij / (c_i c_j)`` minus 1.
    context_weight : float
        When a query has both a known customer and context items (cart, product page), each
        context item counts ``context_weight`` times the customer's strongest (decayed) history
        weight; the two parts are then added before multiplying by the similarity.
    bm25_k1, bm25_b : float
        BM25's ``K1`` and ``B`` (implicit's defaults).
    num_threads : int
        Threads for implicit's similarity kernel (0: all cores). The result does not depend on it.

    Attributes
    ----------
    similarity_ : scipy.sparse.csr_array
        items x items, at most ``k_neighbours`` positive entries per row, zero diagonal. Row
        ``i`` holds the neighbours of item ``i``; scoring is ``history @ similarity_``.
    co_counts_ : scipy.sparse.csr_array or None
        Count-based flavours (and any flavour with shrinkage): customers who interacted with
        both items (off-diagonal), the sufficient statistic of the similarity.
    item_counts_ : np.ndarray
        Customers who interacted with each item.

    Examples
    --------
    >>> from recokit import ItemKNN, Query
    >>> from recokit.datasets import sports_shop
    >>> shop = sports_shop(400, seed=2)
    >>> model = ItemKNN(similarity="cosine", k_neighbours=20).fit(shop)
    >>> customer = shop.customer_ids.to_list()[0]
    >>> recs = model.recommend(Query(customer_id=customer, k=3, exclude_purchased=True))
    >>> len(recs)
    3
    >>> bike = shop.item_ids.to_list()[0]
    >>> len(model.similar_items(bike, k=5)) <= 5
    True
    """

    #: Its scores are sparse and a batch too big for the direct product takes scipy's, whose
    #: memory is the products, not rows x items: 4x the dense default (20,000 items: 800
    #: customers a batch; synthetic 100k x 20k, no reasons: 1.7x faster than 200).
    batch_cells: ClassVar[int] = 16_000_000

    similarity: Literal["cosine", "bm25", "tfidf", "jaccard", "lift", "conditional"] = param(
        default="cosine",
        check=OneOf(*SIMILARITIES),
        kw_only=False,
        doc="``cosine``, ``bm25`` and ``tfidf`` are computed by implicit's nearest-neighbour models from the summed "
        "interaction weights. ``jaccard``, ``lift`` and ``conditional`` come from co-occurrence counts (how many "
        "customers interacted with both items), as in Microsoft's SAR: Jaccard ``c_ij / (c_i + c_j - c_ij)``, lift "
        "(shrunk toward independence, see ``lift_prior``) and the asymmetric conditional "
        'probability ``P(j | i) = c_ij / c_i`` (row ``i``: "of the buyers of i, the share who bought j").',
    )
    k_neighbours: int = param(
        default=50,
        check=Interval(int, low=1),
        kw_only=False,
        doc="Neighbours kept per item (the item itself never counts).",
    )
    shrinkage: float = param(
        default=0.0,
        check=Interval(float, low=0),
        kw_only=False,
        doc="Shrinks similarities computed from few customers: ``sim * c_ij / (c_ij + shrinkage)``. For the "
        "implicit flavours the neighbours are re-ranked after shrinking among a candidate pool of "
        "``4 * k_neighbours`` items with the highest raw similarity.",
    )
    half_life_days: float | None = param(
        default=None,
        check=Optional(Interval(float, low=0, low_open=True)),
        kw_only=False,
        doc="Time decay of a customer's history at scoring time: an interaction ``age`` days before the query's "
        "``now`` (default: the data's last timestamp) weighs ``0.5 ** (age / half_life_days)`` times its weight "
        "(event weights and quantities already included). Interactions after ``now`` count as age 0. Needs "
        "timestamps. The similarity itself is learnt from undecayed weights.",
    )
    min_co_count: int = param(
        default=1,
        check=Interval(int, low=1),
        kw_only=False,
        doc="Count-based flavours only: pairs seen together by fewer customers are not neighbours.",
    )
    binary: bool = param(
        default=False,
        check=Boolean(),
        kw_only=False,
        doc="``cosine``, ``bm25``, ``tfidf`` and the customer's history at scoring time: 0/1 (bought it or not) "
        "instead of the summed interaction weights, so an item bought ten times weighs what one bought once "
        "does (the count-based flavours always count customers). Default chosen on the shared datasets' "
        "validation splits (docs/quality.md).",
    )
    lift_prior: float = param(
        default=1000.0,
        check=Interval(float, low=0),
        kw_only=False,
        doc="``similarity='lift'`` only: the lift is shrunk toward 1 (independence) by this many "
        "pseudo-co-occurrences, ``(c_ij + a) / (e_ij + a)`` with ``e_ij = c_i c_j / n`` the co-occurrences "
        "independence predicts, and the similarity is its excess over 1 (pairs with none are not neighbours). "
        "Raw lift ranks two rare items seen together once above any real pair. The default 1000 was chosen on the validation "
        "splits of the shared datasets (docs/quality.md). 0: the raw lift ``n c_ij / (c_i c_j)`` minus 1.",
    )
    context_weight: float = param(
        default=1.0,
        check=Interval(float, low=0),
        kw_only=False,
        doc="When a query has both a known customer and context items (cart, product page), each context item "
        "counts ``context_weight`` times the customer's strongest (decayed) history weight; the two parts are then "
        "added before multiplying by the similarity.",
    )
    bm25_k1: float = param(
        default=1.2,
        check=Interval(float, low=0),
        kw_only=False,
        doc="BM25's ``K1`` (implicit's default).",
    )
    bm25_b: float = param(
        default=0.75,
        check=Interval(float, low=0, high=1),
        kw_only=False,
        doc="BM25's ``B`` (implicit's default).",
    )
    num_threads: int = param(
        default=0,
        check=Interval(int, low=0),
        kw_only=False,
        doc="Threads for implicit's similarity kernel (0: all cores). The result does not depend on it.",
    )

    specificity: ClassVar[int] = 50

    def signal(self) -> str:
        """``"bought by the same customers"`` (``"chosen by ..."`` when views and cart adds count)."""
        return "chosen by the same customers" if self.is_fitted and not self.bought_ else "bought by the same customers"

    # -- fitting ---------------------------------------------------------------------------
    def _fit(self, dataset: Dataset) -> None:
        self.validate_params()
        self._check_time(dataset)
        self._derive(dataset, count_tables(dataset, pairs=self._needs_pairs))

    def _check_time(self, dataset: Dataset) -> None:
        if self.half_life_days is not None and not dataset.has_time:
            raise DataError("ItemKNN(half_life_days=...) needs timestamps.", hint="build the Dataset with time_col=..., or drop half_life_days.")

    def table_spec(self) -> TableSpec | None:
        """The count tables the fit derives from (:class:`recokit.data.FitsFromTables`): the
        count-based flavours (Jaccard, lift, conditional) read ``item_buyers`` and
        ``customer_pairs``; None for cosine, BM25 and TF-IDF (implicit's kernels read the
        customers x items matrix itself)."""
        return TableSpec(pairs=True) if self.similarity in _COUNTS else None

    def _not_from_tables(self) -> tuple[str, str]:
        return (
            f"similarity={self.similarity!r} is computed by implicit from the customers x items matrix, not from count tables.",
            "fit it with fit(dataset), or choose a count-based similarity ('jaccard', 'lift', 'conditional').",
        )

    def _fit_tables(self, dataset: Dataset, tables: CountTables) -> None:
        self._check_time(dataset)
        self._derive(dataset, tables)

    @property
    def _needs_pairs(self) -> bool:
        """Whether the similarity reads the ``customer_pairs`` table (count-based flavours, shrinkage)."""
        return self.similarity in _COUNTS or self.shrinkage > 0

    def _update(self, previous: ItemKNN, change: DataChange) -> None:
        """The count tables carried through the change (exact integer counts); the similarity is
        derived from them, or -- cosine, BM25, TF-IDF -- recomputed by implicit from the updated
        customers x items matrix (their weights are not a table of counts: BM25 and TF-IDF weigh
        every entry by global statistics)."""
        before = CountTables(previous.item_counts_, previous.co_counts_)
        self._derive(change.after, updated_tables(before, change, pairs=self._needs_pairs))

    def _derive(self, dataset: Dataset, tables: CountTables) -> None:
        """The fitted state from the count tables (and, for implicit's flavours, the matrix)."""
        n_items = dataset.n_items
        self.n_customers_ = dataset.n_customers
        assert tables.item_buyers is not None  # every spec of this model counts them
        self.item_counts_: np.ndarray = tables.item_buyers
        k = self.k_neighbours
        co = tables.customer_pairs
        self.co_counts_ = co
        if self.similarity in _IMPLICIT:
            pool = k + 1 if self.shrinkage == 0 else 4 * k + 1
            raw = _implicit.fit_item_item(
                self.similarity,
                binary_pattern(dataset.user_items) if self.binary else dataset.user_items,
                K=min(pool, max(n_items, 1)),
                num_threads=self.num_threads,
                K1=self.bm25_k1,
                B=self.bm25_b,
            )
            sim = sp.csr_array(raw)
            sim.data[entry_rows(sim.indptr) == sim.indices] = 0.0  # no item is its own neighbour (top_k_per_row drops zeros)
        else:
            assert co is not None  # a count-based similarity: _needs_pairs
            sim = self._from_counts(co, self.item_counts_.astype(np.float64), self.n_customers_)
        if self.shrinkage > 0:
            # scipy-stubs declare no sparse comparison operators: `sim != 0` reads as object.__ne__ -> bool
            shrink = (sim != 0).multiply(co).tocsr()  # type: ignore[attr-defined]
            shrink.data = shrink.data / (shrink.data + self.shrinkage)
            sim = sim.multiply(shrink)
        self.similarity_ = top_k_per_row(sim, k)
        # scoring uses the CSR (rows = neighbours of an item); explanations need columns too
        self.similarity_t_ = self.similarity_.T.tocsr()
        self.similarity_keys_ = entry_rows(self.similarity_.indptr) * n_items + self.similarity_.indices
        self._derive_table()
        names = dataset.item_labels()
        self.names_ = np.array(names, dtype=object)
        # reasons never claim a purchase the data does not show (views and cart adds are interest)
        self.bought_ = dataset.only_purchases
        because = self._because("")
        self.because_ = np.array([because + n for n in names], dtype=object)
        self._fit_history(dataset)

    def _derive_table(self) -> None:
        """A small catalogue's similarity as a dense table, transposed (row ``i``: the similarities
        towards item ``i``, the row one pair reads), so that reasons read a pair's similarity
        instead of searching its key. Derived at fit and load time, never saved."""
        n = self.similarity_.shape[0]
        table = None
        if n * n <= _DENSE_TABLE_CELLS:  # row i: the similarities towards item i (-inf: not a neighbour)
            table = np.full((n, n), -np.inf)
            t = self.similarity_t_
            table[entry_rows(t.indptr), t.indices] = t.data
        self.similarity_dense_ = table

    def _get_state(self) -> dict[str, Any]:
        """Fitted state to save: all of it but the dense table (rebuilt on load)."""
        return {k: v for k, v in vars(self).items() if k != "similarity_dense_"}

    def _set_state(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        self._derive_table()

    def _from_counts(self, co: sp.csr_array, counts: np.ndarray, n: int) -> sp.csr_array:
        c = co.tocoo()
        keep = c.data >= self.min_co_count
        r, j, cij = c.row[keep], c.col[keep], c.data[keep]
        if self.similarity == "jaccard":
            val = cij / (counts[r] + counts[j] - cij)
        elif self.similarity == "lift":  # shrunk toward independence; the excess over it
            a = float(self.lift_prior)
            val = (cij + a) / (counts[r] * counts[j] / n + a) - 1.0
            ok = val > 0
            r, j, val = r[ok], j[ok], val[ok]
        else:  # conditional: P(j | i), row i
            val = cij / counts[r]
        return sp.csr_array((val, (r, j)), shape=co.shape)

    def _fit_history(self, dataset: Dataset) -> None:
        """Per-customer interactions (for time decay at scoring time), grouped by customer."""
        self.history_ = None
        if self.half_life_days is None:
            return
        inter = dataset.interactions
        cust = inter["customer_idx"].to_numpy()
        order = np.argsort(cust, kind="stable")
        ts = inter["timestamp"].to_numpy().astype("datetime64[us]").astype(np.int64)
        self.history_ = {
            "indptr": np.concatenate([[0], np.cumsum(np.bincount(cust, minlength=dataset.n_customers))]).astype(np.int64),
            "item_idx": inter["item_idx"].to_numpy()[order].astype(np.int64),
            "weight": inter["weight"].to_numpy()[order].astype(np.float64),
            "time_us": ts[order],
        }

    # -- scoring ---------------------------------------------------------------------------
    def _history_rows(self, customer_idx: np.ndarray, now: dt.datetime | None) -> _Rows:
        """customers x items: summed (decayed) weights of each customer's history, sorted indices.

        One customer or many go through the same arithmetic in the same order, so scoring one
        customer and a batch give bit-identical numbers. Plain arrays (CSR parts): building a
        scipy matrix costs more than the arithmetic for one customer.
        """
        ds = self.dataset_
        if self.history_ is None:
            ui = ds.user_items  # canonical: duplicates summed, indices sorted
            return self._strength(_Rows(ui.indptr, ui.indices, ui.data, ds.n_items).take(customer_idx))
        h = self.history_
        starts, ends = h["indptr"][customer_idx], h["indptr"][customer_idx + 1]
        lens = ends - starts
        pos = ragged_ranges(starts, starts + lens)
        end = ds.last_time if now is None else now
        end_us = np.datetime64(end, "us").astype(np.int64)
        age_days = np.maximum(end_us - h["time_us"][pos], 0) / _DAY_US
        w = h["weight"][pos] * np.power(0.5, age_days / self.half_life_days)
        rows = np.repeat(np.arange(len(customer_idx), dtype=np.int64), lens)
        keys, inverse = np.unique(rows * ds.n_items + h["item_idx"][pos], return_inverse=True)
        if self.binary:  # a repeat adds nothing: each item weighs its latest (least decayed) interaction
            data: np.ndarray = np.zeros(len(keys))
            np.maximum.at(data, inverse, np.power(0.5, age_days / self.half_life_days))
        else:
            data = np.bincount(inverse, weights=w, minlength=len(keys))  # sums in interaction order
        indptr = np.concatenate([[0], np.cumsum(np.bincount(keys // ds.n_items, minlength=len(customer_idx)))])
        return _Rows(indptr, keys % ds.n_items, data, ds.n_items)

    def _strength(self, rows: _Rows) -> _Rows:
        """Rows as the model learnt from them: 0/1 with ``binary``, else the summed weights."""
        return rows._replace(data=np.ones(len(rows.data))) if self.binary else rows

    def _query_rows(self, customer_idx: np.ndarray, context: sp.csr_array, now: dt.datetime | None) -> _Rows:
        """rows x items: what each request is scored from, sorted indices.

        The (decayed) history of a known customer (``customer_idx >= 0``) plus each context item
        at ``context_weight`` times the row's strongest history weight (1 without history),
        summed where an item is both. Stored zeros stay: a zero-weight interaction (an event type
        weighted 0) still links the customer to the item's neighbours.
        """
        n, n_items = len(customer_idx), int(context.shape[1])
        if self.history_ is None and context.nnz == 0 and bool((customer_idx >= 0).all()):
            ui = self.dataset_.user_items  # the rows as they are (canonical); all of them: no copy
            return self._strength(_Rows(ui.indptr, ui.indices, ui.data, n_items).take(customer_idx))
        known = np.flatnonzero(customer_idx >= 0)
        h = self._history_rows(customer_idx[known], now)
        lens = np.diff(h.indptr)
        if context.nnz == 0:
            counts = np.zeros(n, dtype=np.int64)
            counts[known] = lens
            indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            return _Rows(indptr, h.indices.astype(np.int64), h.data.astype(np.float64), n_items)
        top = np.ones(n)
        has = lens > 0
        if has.any():
            top[known[has]] = np.maximum.reduceat(h.data, h.indptr[:-1][has])
        c_rows = entry_rows(context.indptr)
        entry_row = np.concatenate([np.repeat(known, lens), c_rows])
        cols = np.concatenate([h.indices.astype(np.int64), context.indices.astype(np.int64)])
        weights = np.concatenate([h.data, self.context_weight * top[c_rows]])
        # history first, then context: the sums of one request, in the same order, for every row
        keys, inverse = np.unique(entry_row * n_items + cols, return_inverse=True)
        data = np.bincount(inverse, weights=weights, minlength=len(keys))
        indptr = np.concatenate([[0], np.cumsum(np.bincount(keys // n_items, minlength=n))]).astype(np.int64)
        return _Rows(indptr, keys % n_items, data, n_items)

    def _score(self, batch: Batch) -> ScoreBlock:
        # sparse: stored entries are the scores, absent items have no similarity path (no opinion)
        q = self._query_rows(batch.customer_idx, batch.context, batch.now)
        sim = self.similarity_
        if q.n == 1:  # one request: its own products, summed directly (never more than sim.nnz)
            return QueryScores(*_direct_product(q, sim), query=q)
        n_products = int((sim.indptr[q.indices + 1] - sim.indptr[q.indices]).sum())
        if n_products >= sim.nnz:
            # a big batch: (similarity_t_ @ q.T).T sums the same products in the same order (query
            # items ascending) and its CSC -> CSR conversion leaves the indices sorted, cheaper than
            # sorting long rows (ml-100k: 19 ms of a 100 ms batch); its cost grows with the whole
            # similarity matrix, so small batches (one request) take the direct product
            qc = q.to_csr()
            product = sp.csr_array(sp.csr_array(self.similarity_t_ @ sp.csr_array(qc.T)).T)
        elif q.n * sim.shape[1] <= _DIRECT_CELLS:
            return QueryScores(*_direct_product(q, sim), query=q)
        else:
            qc = q.to_csr()
            product = sp.csr_array(qc @ sim)
        return QueryScores(_keep_zero_sums(qc, sim, product), None, query=q)

    # -- explanations -------------------------------------------------------------------------
    def _explain(self, batch: Batch, rows: np.ndarray, items: np.ndarray, block: ScoreBlock) -> list[str | None]:
        """The query item (history or context) contributing most to each (row, item) score, as a
        sentence; the smallest item index wins ties.

        Vectorised over all pairs, by the cheaper of two equivalent walks: (pair, query item)
        similarities looked up by key, or (pair, in-neighbour of the item) query weights read
        from a dense block of the rows' query vectors. Both compute the same products and keep
        the first maximum in source order.
        """
        items = np.asarray(items, dtype=np.int64)
        if batch.n == 1:  # one request: every pair is on its row, the rows are the batch's
            uniq, inverse = np.zeros(1, dtype=np.int64), np.zeros(len(items), dtype=np.int64)
            context = batch.context
        else:
            uniq, inverse = np.unique(np.asarray(rows, dtype=np.int64), return_inverse=True)
            context = csr_rows(batch.context, uniq)  # an empty context stays the shared empty matrix
        context.sort_indices()
        if isinstance(block, QueryScores) and block.products is not None:  # the products the scores summed
            want = np.asarray(rows, dtype=np.int64) * batch.n_items + items
            src = _best_from_products(block.products, block.query.indices, want, batch.n * batch.n_items)
        else:
            if isinstance(block, QueryScores):  # this request's query vectors, kept by _score
                q = block.query if batch.n == 1 else block.query.take(uniq)
            else:
                q = self._query_rows(batch.customer_idx[uniq], context, batch.now)
            src = self._best_sources(q, inverse, items)
        has = src >= 0
        out = np.full(len(items), None, dtype=object)
        if has.any():
            from_context = csr_lookup(context, inverse[has], src[has])[0] if context.nnz else np.zeros(int(has.sum()), bool)
            out[has] = self._sentences(src[has], items[has], from_context)
        return out.tolist()

    def _best_sources(self, q: _Rows, inverse: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        """For pair j (row ``inverse[j]`` of ``q``, item ``item_idx[j]``): the query item with the
        largest ``weight x similarity`` (-1 when none reaches the item); the smallest index wins ties."""
        n = q.n_items
        q_lens = (q.indptr[1:] - q.indptr[:-1])[inverse]
        col = self.similarity_t_
        in_lens = col.indptr[item_idx + 1] - col.indptr[item_idx]
        if int(in_lens.sum()) < int(q_lens.sum()) and q.n * n <= 4_000_000:
            # long histories, few in-neighbours (ml-100k): walk each item's in-neighbours (sorted)
            # and read the row's weight from a small dense block (-inf = not a query item)
            dense = np.full((q.n, n), -np.inf)
            dense[entry_rows(q.indptr), q.indices] = q.data
            pos = ragged_ranges(col.indptr[item_idx], col.indptr[item_idx] + in_lens)
            sources = col.indices[pos]
            weights = dense[0, sources] if q.n == 1 else dense[np.repeat(inverse, in_lens), sources]
            first = _first_max(weights * col.data[pos], in_lens)
        else:
            # every (pair, query item) combination (sorted): its similarity looked up by key
            pos = ragged_ranges(q.indptr[inverse], q.indptr[inverse] + q_lens)
            sources = q.indices[pos]
            table = self.similarity_dense_
            if table is not None:  # a small catalogue: the pair's similarities read from its table row
                with np.errstate(invalid="ignore"):  # weight 0 x not a neighbour (-inf): NaN, never a maximum
                    first = _first_max(q.data[pos] * table.ravel()[np.repeat(item_idx * n, q_lens) + sources], q_lens)
                return np.where(first >= 0, sources[np.maximum(first, 0)], -1).astype(np.int64) if len(sources) else np.full(len(item_idx), -1, dtype=np.int64)
            keys = sources.astype(np.int64) * n + np.repeat(item_idx, q_lens)
            keys_fit = self.similarity_keys_
            if len(keys_fit) <= _CACHED_KEYS:  # the haystack stays in cache: search as they come
                at = np.minimum(np.searchsorted(keys_fit, keys), max(len(keys_fit) - 1, 0))
            else:  # sorted needles walk a big haystack in order (~4x faster than at random)
                order = np.argsort(keys)
                at = np.empty(len(keys), dtype=np.int64)
                at[order] = np.minimum(np.searchsorted(keys_fit, keys[order]), max(len(keys_fit) - 1, 0))
            hit = keys_fit[at] == keys if len(keys_fit) else np.zeros(len(keys), bool)
            first = _first_max(np.where(hit, q.data[pos] * self.similarity_.data[at], -np.inf), q_lens)
        return np.where(first >= 0, sources[np.maximum(first, 0)], -1).astype(np.int64) if len(sources) else np.full(len(item_idx), -1, dtype=np.int64)

    def _because(self, name: str) -> str:
        return f"because you bought {name}" if self.bought_ else f"because of your interest in {name}"

    def _sentences(self, src: np.ndarray, item_idx: np.ndarray, from_context: np.ndarray) -> np.ndarray:
        if self.similarity != "conditional" and not from_context.any():
            return self.because_[src]  # the common case: precomputed sentences
        names = self.names_[src].tolist()
        buyers, bought = ("buyers", "bought") if self.bought_ else ("customers interested", "chose")
        if self.similarity == "conditional":
            co = self.co_counts_
            assert co is not None  # fitted for every count-based similarity
            share = np.asarray(co[src, item_idx]).ravel() / self.item_counts_[src]
            out = [
                f"{p:.0%} of the {buyers} in {n} also {bought} this" if c and not self.bought_
                else f"{p:.0%} of the buyers of {n} also bought this" if c
                else f"{self._because(n)} ({p:.0%} of its {buyers} also {bought} this)"
                for n, p, c in zip(names, share.tolist(), from_context.tolist(), strict=True)
            ]
        else:
            who = "customers who bought" if self.bought_ else "customers interested in"
            out = [
                f"{who} {n} also {bought} this" if c else self._because(n)
                for n, c in zip(names, from_context.tolist(), strict=True)
            ]
        result = np.empty(len(out), dtype=object)
        result[:] = out
        return result

    # -- public extras -------------------------------------------------------------------------
    def similar_items(self, item_id: Hashable, k: int = 10) -> Recommendations:
        """The ``k`` nearest neighbours of ``item_id``, best first, with a reason each.

        An item the model does not know (new product, typo) gets an empty list, as any
        cold-start query does.

        Examples
        --------
        >>> from recokit import ItemKNN
        >>> from recokit.datasets import sports_shop
        >>> shop = sports_shop(300, seed=4)
        >>> model = ItemKNN(similarity="jaccard", k_neighbours=10).fit(shop)
        >>> neighbours = model.similar_items(shop.item_ids.to_list()[5], k=3)
        >>> len(neighbours) <= 3
        True
        """
        return self.recommend(Query(items=[item_id], k=k), backfill=False)


class QueryScores(ScoreBlock):
    """ItemKNN's block: the scores, the query vectors they were computed from and, when summed
    directly, the products (so that the reasons are read from this request, without building the
    queries or looking the similarities up again)."""

    __slots__ = ("products", "query")

    def __init__(self, scores: sp.csr_array, products: _Products | None, *, query: _Rows) -> None:
        super().__init__(sparse=ScoreBlock.sparse(scores).to_csr())  # float64, sorted indices
        self.query = query
        self.products = products
