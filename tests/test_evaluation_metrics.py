"""Metrics @k: a differential test against ranx (an independent implementation) and properties."""

from __future__ import annotations

import contextlib
import sys

import numba
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from recokit import ConfigError, DataError
from recokit.evaluation import metrics as M

N_ITEMS = 12
KS = (1, 3, 5, 10)
NAMES = ("precision", "recall", "hit_rate", "ndcg", "map", "mrr")  # recokit's name = ranx's name

# ranx's metric kernels are numba functions: compiled, they cost 20-40 s of CPU (minutes on a busy
# machine) in every fresh environment -- CI builds a fresh venv each run, so no numba cache can
# help there. The oracle is ranx's formulas, not numba's compiler: with the JIT disabled the same
# source runs as plain Python and numpy (same float64 arithmetic) and costs milliseconds per
# example. Disabled only while ranx is imported and called, so no other test is affected; if
# another module imported ranx first (compiled), it is used as it is, only slower.
_RANX_INTERPRETED = "ranx" not in sys.modules


@contextlib.contextmanager
def _numba_interpreted():
    before = numba.config.DISABLE_JIT
    numba.config.DISABLE_JIT = before or _RANX_INTERPRETED
    try:
        yield
    finally:
        numba.config.DISABLE_JIT = before


with _numba_interpreted():
    import ranx  # a dev dependency: the oracle must fail loudly, never skip


@st.composite
def runs_and_qrels(draw, max_cases=6):
    """Cases: a ranked list (distinct items, length 1..10) and a non-empty relevant set."""
    n_cases = draw(st.integers(1, max_cases))
    cases = []
    for _ in range(n_cases):
        ranked = draw(st.lists(st.integers(0, N_ITEMS - 1), min_size=1, max_size=10, unique=True))
        relevant = draw(st.lists(st.integers(0, N_ITEMS - 1), min_size=1, max_size=8, unique=True))
        cases.append((ranked, relevant))
    return cases


def _as_matrix(cases, width=10):
    recs = np.full((len(cases), width), -1, dtype=np.int64)
    for c, (ranked, _) in enumerate(cases):
        recs[c, : len(ranked)] = ranked
    return recs


def _ranx_per_case(cases) -> dict[str, np.ndarray]:
    """ranx's per-case scores of every metric at every k, in one call over all the cases.

    Plain dicts (one query per case, in case order) rather than ranx.Qrels / ranx.Run: those build
    numba typed dicts and sort queries by name, and neither is part of the formulas under test.
    ranx sorts a run by score; its order among tied scores is its own. recokit scores a ranked
    list as given, so the run gets strictly decreasing scores: both see the same order.
    """
    qrels = {f"q{c}": {i: 1 for i in rel} for c, (_, rel) in enumerate(cases)}
    run = {f"q{c}": {i: float(len(ranked) - r) for r, i in enumerate(ranked)} for c, (ranked, _) in enumerate(cases)}
    metrics = [f"{name}@{k}" for k in KS for name in NAMES]
    with _numba_interpreted():
        theirs = ranx.evaluate(qrels, run, metrics, return_mean=False)
    return {m: np.asarray(theirs[m], dtype=np.float64) for m in metrics}


@pytest.mark.filterwarnings("ignore::numba.core.errors.NumbaTypeSafetyWarning")
@settings(max_examples=100)
@given(runs_and_qrels(max_cases=12))
@example([(list(range(10)), [9]), (list(range(10)), [11, 0]), ([3], [5])])  # the only hit last; a miss
@example([(list(range(10)), list(range(8))), ([1, 2], [2, 1, 4, 6, 7, 8, 9, 10])])  # |R| above and below k
def test_accuracy_agrees_with_ranx(cases):
    theirs = _ranx_per_case(cases)
    hits = M.hit_matrix(_as_matrix(cases), [np.array(rel) for _, rel in cases])
    n_rel = np.array([len(rel) for _, rel in cases])
    for k in KS:
        ours = M.accuracy(hits, n_rel, k)
        for name in NAMES:
            np.testing.assert_allclose(ours[name], theirs[f"{name}@{k}"], rtol=0, atol=1e-9, err_msg=f"{name}@{k}")


@given(runs_and_qrels(), st.sampled_from(KS))
def test_accuracy_metrics_are_in_unit_interval_and_ordered(cases, k):
    recs = _as_matrix(cases)
    hits = M.hit_matrix(recs, [np.array(rel) for _, rel in cases])
    n_rel = np.array([len(rel) for _, rel in cases])
    m = M.accuracy(hits, n_rel, k)
    for name, v in m.items():
        assert ((v >= 0) & (v <= 1 + 1e-12)).all(), name
    # a hit within k exists exactly when the reciprocal rank is positive
    assert np.array_equal(m["hit_rate"] > 0, m["mrr"] > 0)
    assert (m["map"] <= m["recall"] + 1e-12).all()  # each term of AP is <= 1 / |R|
    assert (m["mrr"] <= m["hit_rate"]).all()


def test_perfect_and_empty_lists():
    hits = M.hit_matrix(np.array([[4, 2, -1], [-1, -1, -1]]), [np.array([2, 4]), np.array([1])])
    m = M.accuracy(hits, np.array([2, 1]), k=3)
    # case 0 ranks both relevant items first: a perfect list, short of k, divided by k for precision
    assert m["ndcg"][0] == pytest.approx(1.0)
    assert m["map"][0] == pytest.approx(1.0)
    assert m["precision"][0] == pytest.approx(2 / 3)
    assert all(m[x][1] == 0 for x in m)


def test_accuracy_rejects_a_case_without_relevant_items():
    with pytest.raises(DataError, match="accuracy: every case needs at least one relevant item; case 1 has 0"):
        M.accuracy(np.zeros((2, 3), bool), np.array([1, 0]), k=3)


HITS = np.array([[True, False, False], [False, False, True]])


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "3", None])
def test_accuracy_rejects_a_bad_k(k):
    # k=0 used to divide by zero (NaN precision); k=-1 silently dropped the last rank
    with pytest.raises(ConfigError, match=r"accuracy: the 'k' parameter must be an int >= 1. Got .* instead.\nHint:"):
        M.accuracy(HITS, np.array([1, 1]), k=k)


@pytest.mark.parametrize(
    ("hits", "n_relevant", "match"),
    [
        (HITS, np.array([1]), "hits has 2 case.* n_relevant has shape \\(1,\\)"),  # used to broadcast silently
        (HITS, np.array([1, 1, 1]), "hits has 2 case"),
        (HITS, np.array([[1, 1]]), "n_relevant has shape"),
        (HITS[0], np.array([1]), "2-D bool matrix"),  # used to be an IndexError
        (HITS.astype(float), np.array([1, 1]), "2-D bool matrix"),
        (HITS, np.array([1.5, 1.0]), "whole counts"),
        (HITS, np.array([np.nan, 1.0]), "whole counts"),
        (HITS, np.array(["1", "1"]), "whole counts"),
        (np.array([[True, True, False]]), np.array([1]), "case 0 has 2 hits but only 1 relevant"),  # recall 2
    ],
)
def test_accuracy_rejects_inconsistent_inputs(hits, n_relevant, match):
    with pytest.raises(DataError, match=match):
        M.accuracy(hits, n_relevant, k=3)


@pytest.mark.parametrize(
    ("recs", "relevant", "match"),
    [
        (np.array([[1, 2]]), [np.array([1]), np.array([2])], "recs has 1 case.* relevant has 2"),
        (np.array([[1, 2], [3, 4]]), [np.array([1])], "recs has 2 case.* relevant has 1"),  # was a numpy error
        (np.array([[1.0, 2.5]]), [np.array([1])], "integer item indices; got dtype float64"),  # was truncated
        (np.array([["a", "b"]]), [np.array([1])], "integer item indices"),
        (np.zeros((1, 2, 2), dtype=int), [np.array([1])], "2-D"),
        (np.array([[1, -2]]), [np.array([1])], "index -2"),
        (np.array([[1, 2]]), [np.array([-1])], "relevant holds the index -1"),
        (np.array([[1, 2]]), [np.array(["x"])], "relevant\\[0\\] must hold integer"),
        (np.array([[1, 2]]), "1", "sequence of index arrays"),
        ([[1, 2], [3]], [np.array([1]), np.array([3])], "not a rectangular array"),
    ],
)
def test_hit_matrix_rejects_bad_inputs(recs, relevant, match):
    with pytest.raises(DataError, match=match):
        M.hit_matrix(recs, relevant)


def test_empty_inputs_give_empty_per_case_results():
    # zero cases is not an error for the per-case functions (evaluate refuses a split without cases)
    hits = M.hit_matrix(np.empty((0, 4), dtype=np.int64), [])
    assert hits.shape == (0, 4)
    assert all(len(v) == 0 for v in M.accuracy(hits, np.empty(0, dtype=np.int64), k=4).values())


def test_list_metrics_reject_bad_inputs():
    recs = np.array([[0, 1], [2, -1]])
    with pytest.raises(ConfigError, match="catalog_coverage: the 'n_items' parameter must be an int >= 1. Got 0"):
        M.catalog_coverage(recs, 0)  # was a silent NaN
    with pytest.raises(DataError, match="catalog_coverage: recs holds the item index 2, outside the 2 items"):
        M.catalog_coverage(recs, 2)  # was a coverage above its definition
    with pytest.raises(DataError, match="intra_list_diversity: features must be 1-D category codes or a 2-D"):
        M.intra_list_diversity(recs, np.zeros((3, 2, 2)))  # was an UnboundLocalError
    with pytest.raises(DataError, match="intra_list_diversity: recs holds the item index 2, outside the 2 items of features"):
        M.intra_list_diversity(recs, np.array([0, 1]))  # was an IndexError
    with pytest.raises(DataError, match="novelty: recs holds the item index 2"):
        M.novelty(recs, np.array([0.5, 0.5]))
    with pytest.raises(DataError, match="novelty: p must hold probabilities in \\(0, 1\\]"):
        M.novelty(recs, np.array([0.5, 0.0, 0.5]))  # -log2(0): an infinite novelty
    with pytest.raises(DataError, match="average_popularity: recs holds the item index 2"):
        M.average_popularity(recs, np.array([0.5, 0.5]))
    with pytest.raises(DataError, match="average_popularity: share must be a 1-D numeric array"):
        M.average_popularity(recs, np.array(["a", "b", "c"]))
    with pytest.raises(ConfigError, match="item_probability: the 'n_customers' parameter must be an int >= 0. Got -1"):
        M.item_probability(np.array([0, 1]), n_customers=-1)
    with pytest.raises(DataError, match="item_probability: train_counts must lie in \\[0, n_customers=2\\]"):
        M.item_probability(np.array([0, 3]), n_customers=2)  # p > 1


def test_coverage_diversity_novelty_popularity_by_hand():
    recs = np.array([[0, 1, 2], [0, 3, -1]])
    assert M.catalog_coverage(recs, 8) == pytest.approx(4 / 8)
    cats = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    # list 0: pairs (0,1) same, (0,2) diff, (1,2) diff -> 2/3; list 1: (0,3) diff -> 1
    assert M.intra_list_diversity(recs, cats) == pytest.approx((2 / 3 + 1) / 2)
    vecs = np.eye(8)
    assert M.intra_list_diversity(recs, vecs) == pytest.approx(1.0)  # orthogonal vectors
    assert np.isnan(M.intra_list_diversity(np.array([[1, -1]]), cats))
    p = M.item_probability(np.array([3, 1, 0, 1, 0, 0, 0, 0]), n_customers=3)
    assert p[0] == pytest.approx(1.0)  # bought by everyone: no surprise
    expected = np.mean(-np.log2([1.0, 0.5, 0.25, 1.0, 0.5]))
    assert M.novelty(recs, p) == pytest.approx(expected)
    share = np.array([1.0, 0.2, 0.0, 0.4, 0, 0, 0, 0])
    assert M.average_popularity(recs, share) == pytest.approx((1 + 0.2 + 0 + 1 + 0.4) / 5)
