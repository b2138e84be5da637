"""Array helpers shared by the models: ragged ranges, integer group codes, a stable counting sort.

Examples
--------
>>> import numpy as np
>>> import polars as pl
>>> from recokit.data import group_codes, ragged_ranges
>>> ragged_ranges(np.array([5, 0, 2]), np.array([7, 0, 5])).tolist()
[5, 6, 2, 3, 4]
>>> codes, names = group_codes(pl.Series(["shoes", None, "bikes", "shoes"]))
>>> codes.tolist(), names
([0, 1, 2, 0], ['shoes', '(none)', 'bikes'])
"""

from __future__ import annotations

import numpy as np
import polars as pl
import scipy.sparse as sp

__all__ = [
    "NO_GROUP", "all_rows", "binary_pattern", "csr_lookup", "csr_rows", "dense_codes", "entry_rows", "group_codes", "lookup_codes", "ragged_ranges",
    "row_positions", "sorted_unique", "stable_order",
]  # fmt: skip

#: The group name of a null catalogue value in :func:`group_codes`.
NO_GROUP = "(none)"


def ragged_ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """``concatenate([arange(a, b) for a, b in zip(starts, stops)])``, vectorised, as ``int64``.

    The positions of several CSR rows at once: ``ragged_ranges(indptr[rows], indptr[rows + 1])``.

    Parameters
    ----------
    starts, stops : array of int, same length
        Each range is ``starts[i] .. stops[i] - 1``; ``stops[i] >= starts[i]``.

    Returns
    -------
    np.ndarray
        ``int64``, of length ``sum(stops - starts)``.

    Raises
    ------
    ValueError
        When the shapes differ or a range has ``stops[i] < starts[i]``.
    """
    starts = np.asarray(starts).astype(np.int64, copy=False).ravel()
    stops = np.asarray(stops).astype(np.int64, copy=False).ravel()
    if starts.shape != stops.shape:
        raise ValueError(f"ragged_ranges: {len(starts)} starts but {len(stops)} stops.")
    lengths = stops - starts
    if len(lengths) and lengths.min() < 0:
        raise ValueError(f"ragged_ranges: stops[i] < starts[i] at {int(np.argmax(lengths < 0))}.")
    if len(lengths) == 1:  # one row (one request's history): a plain range
        return np.arange(starts[0], stops[0], dtype=np.int64)
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if len(ends) else 0
    if total == 0:
        return np.empty(0, dtype=np.int64)
    shift = np.repeat(starts - (ends - lengths), lengths)  # each range's start minus its output offset
    return shift + np.arange(total, dtype=np.int64)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` for a 1-D integer array, with a third of its fixed cost (a request's
    few removal keys: the sort, then one comparison of neighbours).

    >>> sorted_unique(np.array([5, 2, 5, 1])).tolist()
    [1, 2, 5]
    """
    out = np.sort(np.asarray(values).ravel())
    if len(out) < 2:
        return out
    keep = np.empty(len(out), dtype=bool)
    keep[0] = True
    np.not_equal(out[1:], out[:-1], out=keep[1:])
    return out[keep]


def stable_order(keys: np.ndarray, n_keys: int) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for integer keys in ``0 .. n_keys - 1``, in
    ``O(len(keys) + n_keys)``: a counting sort, where ``argsort`` compares (a 20M-row table's
    order in a few passes instead of a comparison sort per key).

    It is scipy's COO -> CSR conversion, which places each row's entries in their input order:
    the key is the row, the position the column.

    >>> stable_order(np.array([2, 0, 2, 1, 0]), 3).tolist()
    [1, 4, 3, 0, 2]
    """
    keys = np.asarray(keys, dtype=np.int64)
    n = len(keys)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    pattern = sp.coo_array((np.ones(n, dtype=np.int8), (keys, np.arange(n, dtype=np.int64))), shape=(n_keys, n))
    return np.asarray(pattern.tocsr().indices, dtype=np.int64)


def _span(values: np.ndarray, n_other: int = 0) -> tuple[int, int] | None:
    """``(low, span)`` of integer ``values`` when a lookup table over ``low .. low + span - 1``
    is affordable (at most twice the values, plus a million slots), else None."""
    if values.dtype.kind not in "iu" or len(values) == 0:
        return None
    low, high = int(values.min()), int(values.max())
    span = high - low + 1
    return (low, span) if span <= 2 * (len(values) + n_other) + (1 << 20) else None


def dense_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``np.unique(values, return_inverse=True)`` for integer ids of a compact range (order
    numbers, customer numbers): a lookup table over the range, O(n + range), where ``np.unique``
    and a dense rank sort. None when the range is too wide for a table (or the values are not
    integers): sort then.

    Returns ``(uniques, codes)``: the distinct values in increasing order, and each value's
    position among them (``int64``).

    >>> uniques, codes = dense_codes(np.array([30, 10, 30, 20]))
    >>> uniques.tolist(), codes.tolist()
    ([10, 20, 30], [2, 0, 2, 1])
    >>> dense_codes(np.array([0, 10**15])) is None
    True
    """
    values = np.asarray(values)
    span = _span(values)
    if span is None:
        return None
    low, width = span
    offset = (values - low).astype(np.int64, copy=False)
    present = np.zeros(width, dtype=bool)
    present[offset] = True
    rank = np.cumsum(present, dtype=np.int64) - 1
    return np.flatnonzero(present).astype(values.dtype) + values.dtype.type(low), rank[offset]


def lookup_codes(ids: np.ndarray, values: np.ndarray) -> np.ndarray | None:
    """The position of each of ``values`` in ``ids`` (distinct integers), -1 for a value not
    among them: a join of integer ids on their index through a lookup table over the ids'
    range. None when the range is too wide for a table (or the ids are not integers).

    >>> lookup_codes(np.array([7, 3, 5]), np.array([5, 7, 4, 9])).tolist()
    [2, 0, -1, -1]
    """
    ids, values = np.asarray(ids), np.asarray(values)
    if values.dtype.kind not in "iu":
        return None
    if len(ids) == 0:
        return np.full(len(values), -1, dtype=np.int64)
    span = _span(ids, len(values))
    if span is None:
        return None
    low, width = span
    table = np.full(width, -1, dtype=np.int64)
    table[(ids - low).astype(np.int64, copy=False)] = np.arange(len(ids), dtype=np.int64)
    inside = (values >= low) & (values <= low + width - 1)
    if bool(inside.all()):
        return table[(values - low).astype(np.int64, copy=False)]
    out = np.full(len(values), -1, dtype=np.int64)
    out[inside] = table[(values[inside] - low).astype(np.int64, copy=False)]
    return out


def entry_rows(indptr: np.ndarray) -> np.ndarray:
    """The row of each stored entry of a CSR matrix, from its ``indptr`` (``int64``).

    >>> entry_rows(np.array([0, 2, 2, 3])).tolist()
    [0, 0, 2]
    """
    if len(indptr) == 2:  # one row (one request)
        return np.zeros(int(indptr[1] - indptr[0]), dtype=np.int64)
    return np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), indptr[1:] - indptr[:-1])


def all_rows(rows: np.ndarray, n: int) -> bool:
    """Whether ``rows`` is ``0 .. n-1`` in order (a gather of them would copy the whole matrix)."""
    return len(rows) == n and (n == 0 or (rows[0] == 0 and bool(np.all(np.diff(rows) == 1))))


def row_positions(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For CSR rows ``rows`` (in that order, repeats allowed): the ``indptr`` of the gathered rows
    and the positions of their entries in the matrix's ``indices`` / ``data``.

    >>> ip, pos = row_positions(np.array([0, 2, 3, 5]), np.array([2, 0]))
    >>> ip.tolist(), pos.tolist()
    ([0, 2, 4], [3, 4, 0, 1])
    """
    starts = indptr[rows].astype(np.int64)
    lens = indptr[rows + 1] - starts
    new = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lens, out=new[1:])
    return new, ragged_ranges(starts, starts + lens)


def csr_rows(m: sp.csr_array, rows: np.ndarray) -> sp.csr_array:
    """``m[rows]`` as a CSR matrix, rows in the given order (repeats allowed), each row's entries
    in their stored order; ``m`` itself when ``rows`` is ``0 .. n-1``.

    The same matrix scipy's fancy indexing builds, at a fraction of its fixed cost (one request
    gathers a handful of rows: scipy's checks cost more than the copy).

    >>> import scipy.sparse as sp
    >>> m = sp.csr_array(np.array([[0.0, 2.0], [3.0, 0.0]]))
    >>> csr_rows(m, np.array([1, 1])).toarray().tolist()
    [[3.0, 0.0], [3.0, 0.0]]
    """
    rows = np.asarray(rows, dtype=np.int64)
    if all_rows(rows, int(m.shape[0])):
        return m
    indptr, pos = row_positions(m.indptr, rows)
    return sp.csr_array((m.data[pos], m.indices[pos], indptr), shape=(len(rows), int(m.shape[1])))


def csr_lookup(m: sp.csr_array, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the cells ``(rows[j], cols[j])`` are stored in a CSR matrix with sorted indices.

    Returns ``(found, pos)``: ``found[j]`` whether the cell is stored, ``pos[j]`` its position in
    ``m.data`` (meaningful where found). Vectorised: one binary search over ``row * width + col``.

    >>> import scipy.sparse as sp
    >>> m = sp.csr_array(np.array([[0.0, 2.0], [3.0, 0.0]]))
    >>> found, pos = csr_lookup(m, np.array([0, 1, 1]), np.array([1, 0, 1]))
    >>> found.tolist(), m.data[pos[found]].tolist()
    ([True, True, False], [2.0, 3.0])
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if m.nnz == 0 or len(rows) == 0:
        return np.zeros(len(rows), dtype=bool), np.zeros(len(rows), dtype=np.int64)
    width = np.int64(m.shape[1])
    keys = entry_rows(m.indptr) * width + m.indices
    want = rows * width + cols
    pos = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
    return np.asarray(keys[pos] == want), pos


def group_codes(series: pl.Series) -> tuple[np.ndarray, list[str]]:
    """A column's values as integer codes: ``names[codes[i]]`` is value ``i`` as a string.

    Names are in order of first appearance; a null becomes the group :data:`NO_GROUP`
    (``"(none)"``), so every row has a code.

    Returns
    -------
    codes : np.ndarray
        ``int64``, one per value.
    names : list of str
        The distinct values.
    """
    values = series.cast(pl.String).fill_null(NO_GROUP)
    names = values.unique(maintain_order=True).to_list()
    lookup = {v: i for i, v in enumerate(names)}
    return np.fromiter((lookup[v] for v in values.to_list()), dtype=np.int64, count=len(values)), names


def binary_pattern(m: sp.csr_array) -> sp.csr_array:
    """The 0/1 pattern of a CSR matrix: every stored entry 1.0 (an item bought three times by a
    customer weighs what an item bought once does).

    >>> binary_pattern(sp.csr_array(np.array([[3.0, 0.0], [0.5, 1.0]]))).toarray().tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """
    return sp.csr_array((np.ones(m.nnz), m.indices, m.indptr), shape=m.shape)
