"""The only top-k of recokit: deterministic (higher score first, then the smaller tie rank:
the item's place in the shop's best sellers when a model ranks, else the smaller index)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from recokit.data import entry_rows

__all__ = ["densify", "top_k", "top_k_blocked", "top_k_bounded", "top_k_coo"]


#: Rows at least this long, and at least 16 x k, are pre-filtered (see :func:`top_k`).
_PREFILTER_MIN = 2048


def top_k(scores: np.ndarray, allowed: np.ndarray | None, k: int, tie: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``k`` best finite, allowed scores of each row, best first.

    Ties are broken by the smaller ``tie[item]`` (a permutation of the items: a model passes
    its best-seller rank, so equal scores go to the better seller), else by the smaller index;
    the answer never depends on the sort algorithm. Rows with fewer than ``k`` candidates are
    padded with -1.

    Long rows (a 20,000-item catalogue) are not partitioned whole: each row is cut into about
    ``4 k`` chunks, and the k-th best chunk maximum bounds the row's k-th best score from below
    (k chunks each hold a score at least that high), so only the scores at or above it -- a few
    times k, ties included -- are ranked exactly.

    >>> top_k(np.array([[0.1, np.nan, 0.5, 0.5]]), None, 3).tolist()
    [[2, 3, 0]]
    >>> top_k(np.array([[0.1, np.nan, 0.5, 0.5]]), None, 3, tie=np.array([3, 2, 1, 0])).tolist()
    [[3, 2, 0]]
    """
    s = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    n, m = s.shape
    kk = min(k, m)
    if kk == 0:
        return np.full((n, k), -1, dtype=np.int64)
    neg, invalid = _negated(s, allowed)
    if m >= _PREFILTER_MIN and m >= 16 * kk:
        width = m // (4 * kk)
        n_chunks = m // width
        best = neg[:, : n_chunks * width].reshape(n, n_chunks, width).min(axis=2)
        bound = np.partition(best, kk - 1, axis=1)[:, kk - 1]  # every top-kk score is <= it (negated)
        rows, cols = np.nonzero((neg <= bound[:, None]) & ~invalid)
        if n == 1:  # one request: sort its few candidates (higher score, then smaller index)
            best = cols[np.lexsort((_key(cols, tie), neg[0, cols]))[:k]]
            out = np.full((1, k), -1, dtype=np.int64)
            out[0, : len(best)] = best
            return out
        return _top_k_sparse(rows, cols, -neg[rows, cols], n, k, tie)[0]
    return _top_k_exact(neg, kk, k, tie)


#: :func:`top_k_bounded` cuts a long row into at least this many groups of at most ``_GROUP``
#: items (strided: group ``g`` holds the items ``g, g + G, g + 2 G, ...``, so one reduction over
#: contiguous memory gives every group's maximum).
_GROUPS, _GROUP = 512, 40
#: Up to this many cells, :func:`top_k_bounded` ranks whole rows (one request, a small catalogue).
_WHOLE_CELLS = 131_072

#: ``exact(rows, cols)``: the exact scores of some cells; ``exact_rows(rows)``: whole rows of them.
Exact = Callable[[np.ndarray, np.ndarray], np.ndarray]
ExactRows = Callable[[np.ndarray], np.ndarray]


def top_k_blocked(
    scores: np.ndarray, blocked_rows: np.ndarray, blocked_cols: np.ndarray, k: int, tie: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_k` of ``scores`` with the cells ``(blocked_rows[j], blocked_cols[j])`` not
    candidates, without copying or writing ``scores``: ``(picked, picked_scores)``, -1 / NaN padded.

    Exact, same order as :func:`top_k` (see :func:`top_k_bounded`, here with exact scores).

    >>> s = np.array([[0.1, 0.9, 0.5, 0.5]])
    >>> top_k_blocked(s, np.array([0]), np.array([1]), 2)[0].tolist()
    [[2, 3]]
    """
    s = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    return top_k_bounded(s, np.zeros(s.shape[0]), lambda r, c: s[r, c], lambda r: s[r], blocked_rows, blocked_cols, k, tie)


def top_k_bounded(
    approx: np.ndarray,
    margin: np.ndarray,
    exact: Exact,
    exact_rows: ExactRows,
    blocked_rows: np.ndarray,
    blocked_cols: np.ndarray,
    k: int,
    tie: np.ndarray | None = None,
    whole_cells: int = _WHOLE_CELLS,
) -> tuple[np.ndarray, np.ndarray]:
    """The exact top-``k`` of scores known approximately: ``approx[r, c]`` (any float dtype, NaN =
    no opinion) is within ``margin[r]`` of the exact score ``exact(r, c)``; the cells
    ``(blocked_rows[j], blocked_cols[j])`` are not candidates. Returns ``(picked, exact scores)``,
    -1 / NaN padded, in :func:`top_k`'s order (higher exact score, then the smaller ``tie`` rank
    or index). Neither array is copied or written.

    A long row's items are split into disjoint groups, each group's maximum taken in one pass. A
    group without a blocked cell whose maximum is finite holds an allowed item scored at least
    that maximum minus the margin, so with ``B`` the ``k``-th best such maximum the row's ``k``-th
    best exact score is at least ``B - margin``, and every item that reaches it has an approximate
    score of at least ``B - 2 margin``. Only the groups whose maximum reaches that are read again
    (a few times ``k`` items, ties included); their exact scores are ranked. Rows with fewer than
    ``k`` such groups, and inputs of at most ``whole_cells`` cells, are ranked whole from
    ``exact_rows``.
    """
    n, m = approx.shape
    kk = min(k, m)
    brows, bcols = np.asarray(blocked_rows, dtype=np.int64), np.asarray(blocked_cols, dtype=np.int64)
    if kk == 0 or m < 16 * kk or n * m <= whole_cells:  # small: a copy costs less than the groups
        return _rank_rows(exact_rows, np.arange(n), brows, bcols, n, k, tie)
    # enough groups that a row keeps k clean ones despite its blocked items (owned, context)
    per = max(2, min(_GROUP, m // max(_GROUPS, 8 * kk, 4 * -(-len(brows) // max(n, 1)))))
    n_groups = m // per
    body = approx[:, : per * n_groups].reshape(n, per, n_groups)  # a view: group g = column g of each slab
    with np.errstate(invalid="ignore"):
        gmax = np.fmax.reduce(body, axis=1)  # NaN only where the whole group is NaN
    witness = np.where(np.isfinite(gmax), -gmax, np.inf)
    inside = bcols < per * n_groups
    witness[brows[inside], bcols[inside] % n_groups] = np.inf  # a blocked cell may be its maximum
    bound = _kth_witness(witness, kk) - 2 * margin  # -inf: fewer than kk witnesses
    good = np.isfinite(bound)
    rows, cols = _candidates(approx, body, gmax, bound, good, n_groups)
    blocked = brows * m + bcols
    if len(blocked) > 1 and not bool(np.all(blocked[1:] >= blocked[:-1])):  # a Restriction's are sorted
        blocked = np.sort(blocked)
    if len(blocked) and len(rows):
        keys = rows * m + cols
        at = np.minimum(np.searchsorted(blocked, keys), len(blocked) - 1)
        keep = blocked[at] != keys
        rows, cols = rows[keep], cols[keep]
    vals = np.asarray(exact(rows, cols), dtype=np.float64)
    finite = np.isfinite(vals)
    picked, picked_scores = _top_k_sparse(rows[finite], cols[finite], vals[finite], n, k, tie)
    with np.errstate(invalid="ignore"):
        rest = np.flatnonzero(~good & ((gmax > -np.inf).any(axis=1) | (approx[:, per * n_groups :] > -np.inf).any(axis=1)))
    if len(rest):  # few finite groups (a sparse row of opinions, most items blocked): rank whole
        picked[rest], picked_scores[rest] = _rank_rows(exact_rows, rest, brows, bcols, n, k, tie)
    return picked, picked_scores


def _kth_witness(witness: np.ndarray, kk: int) -> np.ndarray:
    """Per row, a score that ``kk`` distinct groups reach (``witness``: negated group maxima, +inf
    = not a witness): the ``kk``-th best of the maxima of ``2 kk`` blocks of groups (strided like
    the groups; a block's maximum is one group's), a little below the ``kk``-th best group maximum
    and a partition of ``2 kk`` values instead of every group's. -inf: fewer than ``kk``."""
    n, n_groups = witness.shape
    blocks = 2 * kk
    if n_groups < 4 * blocks:
        return -np.partition(witness, kk - 1, axis=1)[:, kk - 1]
    per = n_groups // blocks
    best = witness[:, : per * blocks].reshape(n, per, blocks).min(axis=1)
    if per * blocks < n_groups:  # the groups left over join the last block
        best[:, -1] = np.minimum(best[:, -1], witness[:, per * blocks :].min(axis=1))
    return -np.partition(best, kk - 1, axis=1)[:, kk - 1]


def _rank_rows(
    exact_rows: ExactRows, rows: np.ndarray, brows: np.ndarray, bcols: np.ndarray, n: int, k: int, tie: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_k` of some whole rows (``exact_rows(rows)``, a copy is written) with their
    blocked cells removed: ``(picked, scores)`` of those rows."""
    sub = np.array(exact_rows(rows), dtype=np.float64)
    mine = np.isin(brows, rows) if len(rows) < n else np.ones(len(brows), dtype=bool)
    sub[np.searchsorted(rows, brows[mine]), bcols[mine]] = np.nan
    picked = top_k(sub, None, k, tie)
    return picked, np.where(picked >= 0, np.take_along_axis(sub, np.maximum(picked, 0), axis=1), np.nan)


def _candidates(
    a: np.ndarray, body: np.ndarray, gmax: np.ndarray, bound: np.ndarray, good: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_k_bounded`'s candidates of the ``good`` rows: the cells whose finite
    approximate score reaches the row's ``bound``, as (row, column), sorted by row then column."""
    per = body.shape[1]
    with np.errstate(invalid="ignore"):
        g_rows, g_cols = np.nonzero((gmax >= bound[:, None]) & good[:, None])
        got = body[g_rows, :, g_cols]  # n_selected x per: the selected groups' scores
        r, j = np.nonzero((got >= bound[g_rows, None]) & (got < np.inf))
        tail = a[:, per * n_groups :]
        t_rows, t_cols = np.nonzero((tail >= bound[:, None]) & (tail < np.inf) & good[:, None])
    rows = np.concatenate([g_rows[r], t_rows]).astype(np.int64, copy=False)
    cols = np.concatenate([g_cols[r] + j * n_groups, t_cols + per * n_groups]).astype(np.int64, copy=False)
    order = np.lexsort((cols, rows))
    return rows[order], cols[order]


def _key(cols: np.ndarray, tie: np.ndarray | None) -> np.ndarray:
    """The tie-break key of items ``cols``: their tie rank, else their index. ``tie`` is one
    rank per column, or (packed rows) one per row and column, ``cols`` then rows x positions."""
    if tie is None:
        return cols
    return np.take_along_axis(tie, cols, axis=1) if tie.ndim == 2 else tie[cols]


def _negated(s: np.ndarray, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Negated scores (smallest first) with disallowed / non-finite items at +inf, and that mask:
    one pass to negate and one masked write, instead of a where() and a negated copy."""
    neg = np.negative(s)
    invalid = ~np.isfinite(neg)
    if allowed is not None:
        invalid |= ~np.atleast_2d(allowed)
    np.copyto(neg, np.inf, where=invalid)
    return neg, invalid


def _top_k_exact(neg: np.ndarray, kk: int, k: int, tie: np.ndarray | None = None) -> np.ndarray:
    """:func:`top_k` on negated scores (+inf = not a candidate), by a full partition of each row
    (``tie``: the tie rank of each column, or of each row's column for packed rows; None = the
    column index)."""
    n = neg.shape[0]
    part = np.argpartition(neg, kk - 1, axis=1)[:, :kk]
    vals = np.take_along_axis(neg, part, axis=1)
    thr = vals.max(axis=1)
    # rows where the k-th value is tied with unselected items: resolve by tie rank, exactly
    n_tied_all = (neg == thr[:, None]).sum(axis=1)
    n_tied_sel = (vals == thr[:, None]).sum(axis=1)
    for r in np.flatnonzero((n_tied_all != n_tied_sel) & np.isfinite(thr)):
        above = np.flatnonzero(neg[r] < thr[r])
        tied = np.flatnonzero(neg[r] == thr[r])
        if tie is not None:
            tied = tied[np.argsort((tie[r] if tie.ndim == 2 else tie)[tied], kind="stable")]
        tied = tied[: kk - len(above)]
        part[r] = np.concatenate([above, tied])
        vals[r] = neg[r, part[r]]
    vals = -vals  # back to scores
    order = np.lexsort((_key(part, tie), -vals), axis=1)
    part = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    part[~np.isfinite(vals)] = -1
    if kk < k:
        part = np.hstack([part, np.full((n, k - kk), -1, dtype=part.dtype)])
    return part.astype(np.int64, copy=False)


def densify(part: sp.sparray | sp.spmatrix) -> np.ndarray:
    """A sparse score matrix as a dense one, NaN where nothing is stored."""
    # scipy-stubs: sparray / spmatrix are the method-less mixins they are at runtime (scipy#22432)
    m = sp.csr_array(part)  # type: ignore[call-overload]
    out = np.full(m.shape, np.nan)
    out[entry_rows(m.indptr), m.indices] = m.data
    return out


def top_k_coo(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int, k: int, tie: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_k` for scores given as (row, col, value) triplets (absent = no opinion).

    Returns ``(picked, picked_scores)``, each ``n_rows x k``, -1 / NaN padded. Same order as
    :func:`top_k`: higher score first, then the smaller tie rank (``tie``) or column. A
    non-finite value is no opinion, as in :func:`top_k`.
    """
    ok = np.isfinite(vals)
    if not ok.all():
        rows, cols, vals = rows[ok], cols[ok], vals[ok]
    return _top_k_sparse(rows, cols, vals, n_rows, k, tie)


#: :func:`_coo_bound` groups a row's entries by this many consecutive ones.
_COO_GROUP = 8


def _coo_bound(vals: np.ndarray, pos: np.ndarray, counts: np.ndarray, k: int) -> np.ndarray:
    """Per row of triplets sorted by row (``pos``: each entry's place in its row), a score its
    ``k``-th best finite entry reaches: the ``k``-th best finite maximum of its groups of
    ``_COO_GROUP`` consecutive entries (each such maximum is a distinct entry); -inf for rows with
    fewer such groups (keep them whole)."""
    firsts = np.flatnonzero(pos % _COO_GROUP == 0)  # every row starts a group: none straddles rows
    gmax = np.maximum.reduceat(vals, firsts)  # NaN where a group holds one: not a witness
    n_groups = -(-counts // _COO_GROUP)
    g_pos = np.arange(len(firsts)) - np.repeat(np.cumsum(n_groups) - n_groups, n_groups)
    packed = np.full((len(counts), int(n_groups.max(initial=0))), np.inf)
    packed[np.repeat(np.arange(len(counts)), n_groups), g_pos] = np.where(np.isfinite(gmax), -gmax, np.inf)
    if packed.shape[1] < k:
        return np.full(len(counts), -np.inf)
    return -np.partition(packed, k - 1, axis=1)[:, k - 1]


def _top_k_sparse(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int, k: int, tie: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`top_k_coo`'s work: rows are packed into a small ``rows x longest-row`` array (not
    ``rows x items``) and ranked there exactly."""
    # by row, then column (a canonical CSR's entries already are: no sort), so that packed
    # position order == column order; ties then go by the packed tie ranks (or the column)
    if len(rows) > 1 and not np.all(np.diff(rows * (int(cols.max()) + 1) + cols) > 0):
        order = np.lexsort((cols, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
    counts = np.bincount(rows, minlength=n_rows)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    if counts.max(initial=0) <= k:  # no row is cut (a sparse model's few opinions): one sort, placed
        order = np.lexsort((_key(cols, tie), -vals, rows))
        in_row = rows[order]
        at = np.arange(len(in_row)) - starts[in_row]
        picked = np.full((n_rows, k), -1, dtype=np.int64)
        picked_scores = np.full((n_rows, k), np.nan)
        picked[in_row, at], picked_scores[in_row, at] = cols[order], vals[order]
        return picked, picked_scores
    pos = np.arange(len(rows)) - starts[rows]
    if len(rows) >= 16 * k * max(n_rows, 1):  # long rows: only the entries that can be in a top k
        keep = vals >= _coo_bound(vals, pos, counts, k)[rows]
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
        counts = np.bincount(rows, minlength=n_rows)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        pos = np.arange(len(rows)) - starts[rows]
    # very long rows (a customer who bought half the shop) would blow up the packed array
    width = int(min(counts.max(initial=0), max(4 * k, np.quantile(counts, 0.99) if n_rows else 0)))
    picked = np.full((n_rows, k), -1, dtype=np.int64)
    picked_scores = np.full((n_rows, k), np.nan)
    short = counts <= width
    sel = short[rows]
    packed = np.full((n_rows, max(width, 1)), np.nan)
    packed[rows[sel], pos[sel]] = vals[sel]
    packed_cols = np.zeros((n_rows, max(width, 1)), dtype=np.int64)
    packed_cols[rows[sel], pos[sel]] = cols[sel]
    packed_tie = None
    if tie is not None:  # each packed position's tie rank (padding: last)
        packed_tie = np.full((n_rows, max(width, 1)), np.iinfo(np.int64).max, dtype=np.int64)
        packed_tie[rows[sel], pos[sel]] = tie[cols[sel]]
        packed_tie = packed_tie[short]
    slot = _top_k_exact(_negated(packed[short], None)[0], min(k, packed.shape[1]), k, packed_tie)
    got = slot >= 0
    sub_picked = np.where(got, np.take_along_axis(packed_cols[short], np.maximum(slot, 0), axis=1), -1)
    sub_scores = np.where(got, np.take_along_axis(packed[short], np.maximum(slot, 0), axis=1), np.nan)
    picked[short], picked_scores[short] = sub_picked, sub_scores
    for r in np.flatnonzero(~short):  # a few long rows: sort just their entries
        lo, hi = starts[r], starts[r] + counts[r]
        best = np.lexsort((_key(cols[lo:hi], tie), -vals[lo:hi]))[:k]
        picked[r, : len(best)] = cols[lo:hi][best]
        picked_scores[r, : len(best)] = vals[lo:hi][best]
    return picked, picked_scores
