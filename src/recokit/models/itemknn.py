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
from typing import Literal, NamedTuple

import numpy as np
import scipy.sparse as sp

from recokit._errors import ConfigError, DataError, _hint
from recokit.core import Query, Recommendations, Recommender
from recokit.data import Dataset
from recokit.models import _implicit
from recokit.params import Interval, OneOf, Optional, param

__all__ = ["ItemKNN"]

_DAY_US = 86_400 * 1_000_000
_IMPLICIT = ("cosine", "bm25", "tfidf")
_COUNTS = ("jaccard", "lift", "conditional")
SIMILARITIES = _IMPLICIT + _COUNTS




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
    sel = np.flatnonzero(long)
    order = sel[np.lexsort((m.indices[sel], -m.data[sel], rows[sel]))]
    rank = np.empty(len(rows), dtype=np.int64)
    rank[order] = np.arange(len(order)) - np.searchsorted(rows[order], rows[order])
    keep = np.flatnonzero(~long | (rank < k))
    out = sp.csr_array((m.data[keep], (rows[keep], m.indices[keep])), shape=m.shape)
    out.sort_indices()
    return out


def _ragged(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Positions ``starts[r] .. starts[r] + lens[r]`` of every row r, concatenated."""
    offsets = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    return np.repeat(starts.astype(np.int64) - offsets, lens) + np.arange(int(lens.sum()), dtype=np.int64)


class _Rows(NamedTuple):
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray


class ItemKNN(Recommender):
    """Item-based collaborative filtering with a choice of item-item similarity.

    Parameters
    ----------
    similarity : {'cosine', 'bm25', 'tfidf', 'jaccard', 'lift', 'conditional'}
        ``cosine``, ``bm25`` and ``tfidf`` are computed by implicit's nearest-neighbour models from
        the summed interaction weights. ``jaccard``, ``lift`` and ``conditional`` come from
        co-occurrence counts (how many customers interacted with both items), as in Microsoft's
        SAR: Jaccard ``c_ij / (c_i + c_j - c_ij)``, lift ``n c_ij / (c_i c_j)`` (SAR omits the
        constant ``n``; same ranking) and the asymmetric conditional probability
        ``P(j | i) = c_ij / c_i`` (row ``i``: "of the buyers of i, the share who bought j").
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

    similarity: Literal["cosine", "bm25", "tfidf", "jaccard", "lift", "conditional"] = param(
        default="cosine",
        check=OneOf(*SIMILARITIES),
        kw_only=False,
        doc="``cosine``, ``bm25`` and ``tfidf`` are computed by implicit's nearest-neighbour models from the summed "
        "interaction weights. ``jaccard``, ``lift`` and ``conditional`` come from co-occurrence counts (how many "
        "customers interacted with both items), as in Microsoft's SAR: Jaccard ``c_ij / (c_i + c_j - c_ij)``, lift "
        "``n c_ij / (c_i c_j)`` (SAR omits the constant ``n``; same ranking) and the asymmetric conditional "
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

    # -- fitting ---------------------------------------------------------------------------
    def _fit(self, dataset: Dataset) -> None:
        self.validate_params()
        if self.half_life_days is not None and not dataset.has_time:
            raise DataError(_hint("ItemKNN(half_life_days=...) needs timestamps.", "build the Dataset with time_col=..., or drop half_life_days."))
        ui = dataset.user_items
        n_items = dataset.n_items
        self.n_customers_ = dataset.n_customers
        self.item_counts_ = dataset.item_counts()
        k = self.k_neighbours
        need_counts = self.similarity in _COUNTS or self.shrinkage > 0
        self.co_counts_ = self._co_counts(ui) if need_counts else None
        if self.similarity in _IMPLICIT:
            pool = k + 1 if self.shrinkage == 0 else 4 * k + 1
            raw = _implicit.fit_item_item(
                self.similarity, ui, K=min(pool, max(n_items, 1)), num_threads=self.num_threads, K1=self.bm25_k1, B=self.bm25_b
            )
            sim = sp.csr_array(raw)
            sim.setdiag(0)
        else:
            sim = self._from_counts(self.co_counts_, self.item_counts_.astype(np.float64), self.n_customers_)
        if self.shrinkage > 0:
            shrink = (sim != 0).multiply(self.co_counts_).tocsr()
            shrink.data = shrink.data / (shrink.data + self.shrinkage)
            sim = sim.multiply(shrink)
        self.similarity_ = top_k_per_row(sim, k)
        # scoring uses the CSR (rows = neighbours of an item); explanations need columns too
        self.similarity_t_ = self.similarity_.T.tocsr()
        self.similarity_keys_ = np.repeat(np.arange(n_items, dtype=np.int64), np.diff(self.similarity_.indptr)) * n_items + self.similarity_.indices
        names = dataset.item_labels()
        self.names_ = np.array(names, dtype=object)
        # reasons never claim a purchase the data does not show (views and cart adds are interest)
        self.bought_ = dataset.only_purchases
        self.because_ = np.array([self._because(n) for n in names], dtype=object)
        self._fit_history(dataset)

    @staticmethod
    def _co_counts(ui: sp.csr_array) -> sp.csr_array:
        b = sp.csr_array(ui, copy=True)
        b.data[:] = 1.0
        co = (b.T @ b).tocsr()
        co.setdiag(0)
        co.eliminate_zeros()
        co.sort_indices()
        return co

    def _from_counts(self, co: sp.csr_array, counts: np.ndarray, n: int) -> sp.csr_array:
        c = co.tocoo()
        keep = c.data >= self.min_co_count
        r, j, cij = c.row[keep], c.col[keep], c.data[keep]
        if self.similarity == "jaccard":
            val = cij / (counts[r] + counts[j] - cij)
        elif self.similarity == "lift":
            val = n * cij / (counts[r] * counts[j])
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
            ui = ds.user_items
            starts, lens = ui.indptr[customer_idx], ui.indptr[customer_idx + 1] - ui.indptr[customer_idx]
            pos = _ragged(starts, lens)
            return _Rows(np.concatenate([[0], np.cumsum(lens)]), ui.indices[pos], ui.data[pos])
        h = self.history_
        starts, ends = h["indptr"][customer_idx], h["indptr"][customer_idx + 1]
        lens = ends - starts
        pos = _ragged(starts, lens)
        end = ds.last_time if now is None else now
        end_us = np.datetime64(end, "us").astype(np.int64)
        age_days = np.maximum(end_us - h["time_us"][pos], 0) / _DAY_US
        w = h["weight"][pos] * np.power(0.5, age_days / self.half_life_days)
        rows = np.repeat(np.arange(len(customer_idx), dtype=np.int64), lens)
        keys, inverse = np.unique(rows * ds.n_items + h["item_idx"][pos], return_inverse=True)
        data = np.bincount(inverse, weights=w, minlength=len(keys))  # sums in interaction order
        indptr = np.concatenate([[0], np.cumsum(np.bincount(keys // ds.n_items, minlength=len(customer_idx)))])
        return _Rows(indptr, keys % ds.n_items, data)

    def _query_vector(self, ctx: Context) -> tuple[np.ndarray, np.ndarray]:
        """(item_idx sorted, weight) of the history and context items this query is scored from."""
        if ctx.known_customer:
            h = self._history_rows(np.array([ctx.customer_idx]), ctx.now)
            idx, w = h.indices.astype(np.int64), h.data.astype(np.float64)
        else:
            idx, w = np.empty(0, dtype=np.int64), np.empty(0)
        if len(ctx.item_idx) == 0:
            return idx, w
        top = float(w.max()) if len(w) else 1.0
        all_idx = np.concatenate([idx, ctx.item_idx.astype(np.int64)])
        all_w = np.concatenate([w, np.full(len(ctx.item_idx), self.context_weight * top)])
        uniq, inverse = np.unique(all_idx, return_inverse=True)
        return uniq, np.bincount(inverse, weights=all_w, minlength=len(uniq))

    def _score(self, ctx: Context) -> np.ndarray:
        idx, w = self._query_vector(ctx)
        sim = self.similarity_
        n = self.dataset_.n_items
        if len(idx) == 0:
            return np.full(n, np.nan)
        lo, hi = sim.indptr[idx], sim.indptr[idx + 1]
        lens = hi - lo
        pos = np.repeat(lo - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens) + np.arange(lens.sum())
        cols = sim.indices[pos]
        # the same products, added in the same order, as scipy's sparse product in _score_many
        out = np.bincount(cols, weights=np.repeat(w, lens) * sim.data[pos], minlength=n).astype(np.float64)
        touched = np.zeros(n, dtype=bool)
        touched[cols] = True
        out[~touched] = np.nan
        return out

    def _score_many(self, customer_idx: np.ndarray, now: dt.datetime | None) -> sp.csr_array:
        # sparse: stored entries are the scores, absent items have no similarity path (NaN)
        h = self._history_rows(customer_idx, now)
        rows = sp.csr_array((h.data, h.indices, h.indptr), shape=(len(customer_idx), self.dataset_.n_items))
        return (rows @ self.similarity_).tocsr()

    # -- explanations -------------------------------------------------------------------------
    def _explain(self, ctx: Context, item_idx: int) -> str | None:
        if len(ctx.item_idx) == 0:
            if not ctx.known_customer:
                return None
            return self._explain_many(np.array([ctx.customer_idx]), np.array([item_idx]), ctx.now)[0]
        idx, w = self._query_vector(ctx)
        col = self.similarity_t_
        lo, hi = col.indptr[item_idx], col.indptr[item_idx + 1]
        sources, sims = col.indices[lo:hi], col.data[lo:hi]
        at = np.minimum(np.searchsorted(idx, sources), len(idx) - 1)
        hit = idx[at] == sources
        if not hit.any():
            return None
        contrib = np.where(hit, w[at] * sims, -np.inf)
        src = int(sources[int(np.argmax(contrib))])  # sources are sorted: the smallest index wins ties
        return self._reasons(np.array([src]), np.array([item_idx]), np.isin([src], ctx.item_idx))[0]

    def _explain_many(self, customer_idx: np.ndarray, item_idx: np.ndarray, now: dt.datetime | None) -> np.ndarray:
        """The history item contributing most to each (customer, item) score, as a sentence.

        Vectorised over all pairs, by the cheaper of two equivalent walks: (pair, history item)
        similarities looked up by key, or (pair, in-neighbour of the item) history weights read
        from a dense batch history. Both compute the same products and keep the first maximum
        in source order.
        """
        n = self.dataset_.n_items
        uniq, inverse = np.unique(customer_idx, return_inverse=True)
        h = self._history_rows(uniq, now)
        hist_lens = np.diff(h.indptr)[inverse]
        col = self.similarity_t_
        in_lens = np.diff(col.indptr)[item_idx]
        if int(in_lens.sum()) < int(hist_lens.sum()) and len(uniq) * n <= 4_000_000:
            # long histories, few in-neighbours (ml-100k): walk each item's in-neighbours and read
            # the customer's weight from a small dense history (NaN = not in the history)
            dense = np.full((len(uniq), n), np.nan)
            dense[np.repeat(np.arange(len(uniq)), np.diff(h.indptr)), h.indices] = h.data
            pos = _ragged(col.indptr[item_idx], in_lens)
            pair = np.repeat(np.arange(len(item_idx)), in_lens)
            sources = col.indices[pos].astype(np.int64)
            contrib = dense[inverse[pair], sources] * col.data[pos]
            hit = ~np.isnan(contrib)
            pair, sources, contrib = pair[hit], sources[hit], contrib[hit]
        else:
            # every (pair, history item) combination: look the similarity up by key in the sorted CSR
            pos = _ragged(h.indptr[inverse], hist_lens)
            pair = np.repeat(np.arange(len(item_idx)), hist_lens)
            sources = h.indices[pos].astype(np.int64)
            keys = sources * n + item_idx[pair]
            keys_fit = self.similarity_keys_
            order = np.argsort(keys)  # sorted needles: a binary search with hints, ~4x faster
            at = np.empty(len(keys), dtype=np.int64)
            at[order] = np.minimum(np.searchsorted(keys_fit, keys[order]), max(len(keys_fit) - 1, 0))
            hit = keys_fit[at] == keys if len(keys_fit) else np.zeros(len(keys), bool)
            pair, sources, contrib = pair[hit], sources[hit], h.data[pos[hit]] * self.similarity_.data[at[hit]]
        src = np.full(len(item_idx), -1, dtype=np.int64)
        if len(pair):
            # pairs are grouped and their sources ascending: the first maximum is the smallest index
            seg = np.flatnonzero(np.concatenate([[True], pair[1:] != pair[:-1]]))
            best = np.repeat(np.maximum.reduceat(contrib, seg), np.diff(np.append(seg, len(pair))))
            at_max = np.flatnonzero(contrib == best)
            first_pairs, first = np.unique(pair[at_max], return_index=True)
            src[first_pairs] = sources[at_max[first]]
        has = src >= 0
        out = np.full(len(item_idx), None, dtype=object)
        if has.any():
            out[has] = self._reasons(src[has], item_idx[has], np.zeros(int(has.sum()), bool))
        return out

    def _because(self, name: str) -> str:
        return f"because you bought {name}" if self.bought_ else f"because of your interest in {name}"

    def _reasons(self, src: np.ndarray, item_idx: np.ndarray, from_context: np.ndarray) -> np.ndarray:
        if self.similarity != "conditional" and not from_context.any():
            return self.because_[src]  # the common case: precomputed sentences
        names = self.names_[src].tolist()
        buyers, bought = ("buyers", "bought") if self.bought_ else ("customers interested", "chose")
        if self.similarity == "conditional":
            share = np.asarray(self.co_counts_[src, item_idx]).ravel() / self.item_counts_[src]
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
