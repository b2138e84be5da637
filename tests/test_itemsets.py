"""recokit.data.itemsets against a brute-force reference: every subset of the items, counted over
the dense basket matrix with plain Python (independent of the level-wise code)."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from recokit.data.itemsets import frequent_itemsets, itemset_rows


@st.composite
def baskets(draw, max_rows=30, max_items=7):
    n = draw(st.integers(1, max_rows))
    m = draw(st.integers(1, max_items))
    density = draw(st.sampled_from([0.2, 0.5, 0.8]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.random((n, m)) < density


def brute_force(dense: np.ndarray, min_count: int, max_len: int | None) -> list[dict[tuple[int, ...], int]]:
    """{itemset: count} per size 1, 2, ...: every subset counted, the frequent ones kept."""
    m = dense.shape[1]
    rows = [set(np.flatnonzero(r).tolist()) for r in dense]
    out = []
    for size in range(1, m + 1):
        if max_len is not None and size > max_len:
            break
        level = {}
        for items in combinations(range(m), size):
            count = sum(set(items) <= r for r in rows)
            if count >= min_count:
                level[items] = count
        if size > 1 and not level:
            break
        out.append(level)
    return out


@given(
    dense=baskets(),
    min_count=st.integers(1, 5),
    max_len=st.sampled_from([2, 3, 4, None]),
    budget=st.sampled_from([1, 5, 1 << 21]),
    cells=st.sampled_from([1, 6, 1 << 21]),
    with_pairs=st.booleans(),
)
def test_levels_equal_brute_force_counts(dense, min_count, max_len, budget, cells, with_pairs):
    """Every chunking (budget: occurrences per piece; cells: rows per dense block, and so dense or
    sparse counters) gives the same exact counts, in lexicographic order."""
    b = sp.csr_array(dense.astype(np.float64))
    pairs = sp.csr_array(np.triu(dense.T.astype(np.int64) @ dense.astype(np.int64), k=1)) if with_pairs else None
    levels = frequent_itemsets(b, min_count=min_count, max_len=max_len, pairs=pairs, budget=budget, cells=cells)
    want = brute_force(dense, min_count, max_len)
    assert len(levels) == len(want)
    for lv, ref in zip(levels, want, strict=True):
        assert [tuple(r) for r in lv.items.tolist()] == sorted(ref)  # lexicographic
        assert lv.counts.tolist() == [ref[k] for k in sorted(ref)]
        if len(ref):  # each itemset is found again from its items
            np.testing.assert_array_equal(itemset_rows(levels, lv.items), np.arange(len(ref)))


@given(dense=baskets(max_rows=20, max_items=6), min_count=st.integers(1, 4), data=st.data())
def test_itemset_rows_says_minus_one_for_an_infrequent_itemset(dense, min_count, data):
    levels = frequent_itemsets(sp.csr_array(dense.astype(np.float64)), min_count=min_count, max_len=None)
    size = data.draw(st.integers(1, dense.shape[1]))
    items = data.draw(st.lists(st.sets(st.integers(0, dense.shape[1] - 1), min_size=size, max_size=size), min_size=1, max_size=5))
    query = np.array([sorted(s) for s in items])
    count = {s: int(dense[:, list(s)].all(axis=1).sum()) for s in map(tuple, query.tolist())}
    rows = itemset_rows(levels, query)
    for q, r in zip(map(tuple, query.tolist()), rows.tolist(), strict=True):
        if count[q] >= min_count:
            assert r >= 0 and levels[len(q) - 1].items[r].tolist() == list(q)
            assert levels[len(q) - 1].counts[r] == count[q]
        else:
            assert r == -1


def test_an_item_twice_in_a_basket_is_one_occurrence():
    rows, cols = [0, 0, 0, 1, 1, 1, 2, 2, 2], [0, 1, 1, 0, 1, 2, 0, 2, 2]
    b = sp.csr_array((np.ones(9), (rows, cols)), shape=(3, 3))
    levels = frequent_itemsets(b, min_count=1, max_len=None)
    assert levels[0].counts.tolist() == [3, 2, 2]
    assert levels[1].counts.tolist() == [2, 2, 1]  # (0, 1), (0, 2), (1, 2)
    assert levels[2].items.tolist() == [[0, 1, 2]] and levels[2].counts.tolist() == [1]
