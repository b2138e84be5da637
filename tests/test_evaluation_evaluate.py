"""evaluate(): the batch pipeline against an independent one-request-at-a-time computation."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from recokit import ConfigError, Popularity, Query, Recommender, ScoreBlock
from recokit.evaluation import (
    basket_completion_split,
    evaluate,
    paired_test,
    temporal_split,
    to_markdown,
)


@pytest.fixture(scope="module")
def split():
    from recokit.datasets import sports_shop

    return temporal_split(sports_shop(400, seed=5), test_fraction=0.25)


def _plain_metrics(ranked: list, relevant: set, k: int) -> dict[str, float]:
    """The textbook formulas, one list at a time, in plain Python."""
    top = ranked[:k]
    rel = [1.0 if i in relevant else 0.0 for i in top]
    hits = sum(rel)
    dcg = sum(r / math.log2(n + 2) for n, r in enumerate(rel))
    idcg = sum(1 / math.log2(n + 2) for n in range(min(k, len(relevant))))
    ap = sum(sum(rel[: n + 1]) / (n + 1) for n, r in enumerate(rel) if r) / len(relevant)
    first = next((n + 1 for n, r in enumerate(rel) if r), None)
    return {
        "precision": hits / k,
        "recall": hits / len(relevant),
        "hit_rate": float(hits > 0),
        "ndcg": dcg / idcg,
        "map": ap,
        "mrr": 1 / first if first else 0.0,
    }


class Oracle(Recommender):
    """Cheats on purpose: scores each customer's test items first (known-answer check)."""

    def __init__(self, *, answers=None):
        self.answers = answers

    def _fit(self, dataset):
        pass

    def _score(self, batch):
        s = np.full((batch.n, self.dataset_.n_items), np.nan)
        for r, c in enumerate(batch.customer_idx.tolist()):
            if c >= 0:
                cid = self.dataset_.customer_ids.id(c)
                for rank, item in enumerate(sorted(self.answers.get(cid, []))):
                    s[r, self.dataset_.item_ids.get(item)] = 100.0 - rank
        return ScoreBlock.dense(s)

    def _explain(self, batch, rows, items, block):
        return ["in the test basket"] * len(rows)


def test_evaluate_equals_one_request_at_a_time(split):
    model = Popularity(by="category")  # per-customer scores, not one shared list
    table = evaluate({"pop": model}, split, k=(3, 10), n_boot=0, latency_queries=5, progress=False)
    per_case = {k: {m: [] for m in ("precision", "recall", "hit_rate", "ndcg", "map", "mrr")} for k in (3, 10)}
    for row in split.cases.iter_rows(named=True):
        recs = model.recommend(Query(customer_id=row["customer_id"], k=10, now=split.now, exclude_purchased=True))
        for k in (3, 10):
            for m, v in _plain_metrics(recs.item_ids, set(row["relevant"]), k).items():
                per_case[k][m].append(v)
    for k in (3, 10):
        got = table.filter(pl.col("k") == k).row(0, named=True)
        assert got["n_cases"] == split.cases.height
        for m, values in per_case[k].items():
            assert got[m] == pytest.approx(np.mean(values), abs=1e-12), (m, k)


def test_oracle_is_perfect_and_confidence_intervals_bracket_the_mean(split):
    answers = {r["customer_id"]: r["relevant"] for r in split.cases.iter_rows(named=True)}
    table = evaluate({"oracle": Oracle(answers=answers), "pop": Popularity()}, split, k=(5, 10), n_boot=200, latency_queries=10, progress=False)
    oracle = table.filter(model="oracle")
    assert (oracle["ndcg"] == 1.0).all() and (oracle["hit_rate"] == 1.0).all() and (oracle["mrr"] == 1.0).all()
    n_rel = np.array([len(r) for r in split.cases["relevant"].to_list()])
    # recall@k of a perfect list is min(k, |R|) / |R|
    for k in (5, 10):
        assert oracle.filter(k=k)["recall"][0] == pytest.approx(np.mean(np.minimum(k, n_rel) / n_rel))
    for m in ("precision", "recall", "ndcg", "map", "mrr", "hit_rate"):
        assert (table[f"{m}_lo"] <= table[m] + 1e-12).all() and (table[m] <= table[f"{m}_hi"] + 1e-12).all()
    assert (table["latency_p50_ms"] <= table["latency_p99_ms"]).all()
    assert table["fit_seconds"].is_not_null().all()
    md = to_markdown(table)
    assert md.count("\n") == 1 + table.height and "[95% CI]" in md


def test_evaluate_is_reproducible_with_a_seed(split):
    cols = ["model", "k", "ndcg", "ndcg_lo", "ndcg_hi", "recall_lo", "coverage", "novelty", "diversity", "revenue"]
    a = evaluate({"pop": Popularity()}, split, n_boot=100, seed=3, latency_queries=0, progress=False).select(cols)
    b = evaluate({"pop": Popularity()}, split, n_boot=100, seed=3, latency_queries=0, progress=False).select(cols)
    assert a.equals(b)


def test_business_metrics_rules_and_revenue(split):
    model = Popularity().fit(split.train)
    banned = split.train.catalog.filter(pl.col("category") == split.train.catalog["category"][0])["item_id"].to_list()

    class NoCategory:
        """A fake rule set: the contract the rules engine provides."""

        def __init__(self):
            self.calls = 0

        def violations(self, query, item_ids):
            self.calls += 1
            assert isinstance(query, Query)
            return [(i, "no-first-category") for i in item_ids if i in set(banned)]

    rules = NoCategory()
    table = evaluate({"pop": model}, split, k=5, fit=False, n_boot=0, latency_queries=0, rules=rules, progress=False)
    price = dict(split.train.catalog.select("item_id", "price").rows())
    expected_viol = 0
    expected_rev = 0.0
    total = 0.0
    for row in split.cases.iter_rows(named=True):
        ids = model.recommend(Query(customer_id=row["customer_id"], k=5, now=split.now, exclude_purchased=True)).item_ids
        expected_viol += sum(i in set(banned) for i in ids)
        expected_rev += sum(price[i] for i in ids if i in set(row["relevant"]))
        total += sum(price[i] for i in row["relevant"])
    got = table.row(0, named=True)
    assert rules.calls == split.cases.height
    assert got["rule_violations"] == expected_viol
    assert got["revenue"] == pytest.approx(expected_rev)
    assert got["revenue_share"] == pytest.approx(expected_rev / total)
    assert 0 <= got["coverage"] <= 1 and 0 <= got["diversity"] <= 1 and got["novelty"] > 0


def test_basket_completion_cases_go_through_recommend_with_items():
    from recokit.datasets import sports_shop

    split = basket_completion_split(sports_shop(300, seed=2), test_fraction=0.2)
    seen = []

    class Spy(Popularity):
        def _score(self, batch):
            seen.extend(np.diff(batch.context.indptr).tolist())
            return super()._score(batch)

    table = evaluate({"spy": Spy()}, split, k=5, n_boot=0, latency_queries=0, progress=False)
    assert table["n_cases"][0] == split.report.n_cases > 0
    assert len(seen) == split.report.n_cases and min(seen) >= 1  # each case asked with its cart


def test_paired_test(split):
    answers = {r["customer_id"]: r["relevant"] for r in split.cases.iter_rows(named=True)}
    same = paired_test(Popularity(), Popularity(), split, k=10, n_boot=500)
    assert same["diff"] == 0 and same["p_value"] == 1.0
    better = paired_test(Oracle(answers=answers), Popularity(), split, k=10, n_boot=500)
    assert better["diff"] > 0 and better["p_value"] < 0.01 and better["diff_lo"] > 0
    t = paired_test(Oracle(answers=answers), Popularity(), split, k=10, method="t-test")
    assert t["p_value"] < 0.01 and t["mean_a"] == 1.0


def test_leak_guard_and_parameters(split):
    from recokit.datasets import sports_shop

    leaky = Popularity().fit(sports_shop(400, seed=5))  # fitted on everything, test included
    with pytest.raises(ConfigError, match="leak"):
        evaluate({"leaky": leaky}, split, fit=False, progress=False)
    with pytest.raises(ConfigError, match="'k' parameter of evaluate must be an int >= 1"):
        evaluate({"p": Popularity()}, split, k=0)
    with pytest.raises(ConfigError, match="non-empty dict"):
        evaluate({}, split)
    with pytest.raises(ConfigError, match="violations"):
        evaluate({"p": Popularity()}, split, rules=object(), n_boot=0, latency_queries=0, progress=False)
    with pytest.raises(ConfigError, match="'metric' parameter of paired_test"):
        paired_test(Popularity(), Popularity(), split, metric="auc")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": None}, "'k' parameter of evaluate must be an int >= 1 or a list of them. Got None"),  # was a TypeError
        ({"k": 5.0}, "'k' parameter of evaluate"),
        ({"k": "10"}, "'k' parameter of evaluate"),
        ({"k": [5, -1]}, "'k' parameter of evaluate"),
        ({"n_boot": -1}, "'n_boot' parameter of evaluate must be an int >= 0. Got -1"),
        ({"seed": -1}, "'seed' parameter of evaluate must be an int >= 0. Got -1"),  # was numpy's ValueError
        ({"seed": 1.5}, "'seed' parameter of evaluate"),
        ({"latency_queries": -3}, "'latency_queries' parameter of evaluate must be an int >= 0"),
        ({"diversity_by": "colour"}, "the catalog has no such column"),
        ({"diversity_by": ["a", "b"]}, "diversity_by must be a catalogue column name or an"),  # was numpy's ValueError
        ({"price_col": 3}, "'price_col' parameter of evaluate must be a catalogue column name or None"),
    ],
)
def test_evaluate_rejects_bad_parameters(split, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        evaluate({"p": Popularity()}, split, progress=False, **kwargs)


def test_evaluate_rejects_a_non_numeric_price_column(split):
    from recokit import DataError

    # price_col names the (text) category column: used to be a polars InvalidOperationError
    with pytest.raises(DataError, match="evaluate: the catalogue column 'category' holds String, not numbers"):
        evaluate({"p": Popularity()}, split, k=5, n_boot=0, latency_queries=0, price_col="category", progress=False)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": [5, 10]}, "'k' parameter of paired_test must be one int >= 1"),  # was "too many values to unpack"
        ({"k": 0}, "'k' parameter of paired_test must be one int >= 1. Got 0"),
        ({"n_boot": -5}, "'n_boot' parameter of paired_test must be an int >= 0"),  # was numpy's ValueError
        ({"n_boot": 0}, "must be >= 1 with method='bootstrap'"),  # was an IndexError (quantile of nothing)
        ({"seed": -1}, "'seed' parameter of paired_test"),
        ({"metric": ["ndcg"]}, "'metric' parameter of paired_test must be one of"),
        ({"method": "wilcoxon"}, "'method' parameter of paired_test must be 'bootstrap' or 't-test'"),
    ],
)
def test_paired_test_rejects_bad_parameters(split, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        paired_test(Popularity(), Popularity(), split, **kwargs)


def test_paired_test_and_rank_cases_reject_what_is_not_a_model_or_a_split(split):
    from recokit.evaluation import rank_cases

    with pytest.raises(ConfigError, match="must be a recokit.Recommender; got str"):
        paired_test("popular", Popularity(), split)  # was an AttributeError
    with pytest.raises(ConfigError, match="expected a recokit.evaluation.Split; got DataFrame"):
        rank_cases(Popularity().fit(split.train), split.cases, k=5)
    with pytest.raises(ConfigError, match="'k' parameter of rank_cases must be one int >= 1. Got 0"):
        rank_cases(Popularity().fit(split.train), split, k=0)


@pytest.mark.parametrize(
    ("table", "kwargs", "match"),
    [
        ({"x": [1]}, {}, "to_markdown expects the table evaluate returns"),
        (None, {"metrics": ["auc"]}, "to_markdown: the table has no column 'auc'"),  # was a KeyError
        (None, {"metrics": "ndcg"}, "'metrics' parameter of to_markdown must be a list of column names"),
        (None, {"digits": -1}, "'digits' parameter of to_markdown must be an int >= 0. Got -1"),
    ],
)
def test_to_markdown_rejects_bad_inputs(table, kwargs, match):
    row = {"model": "m", "k": 10, "n_cases": 5, "ndcg": 0.5, "ndcg_lo": 0.4, "ndcg_hi": 0.6}
    frame = pl.DataFrame([row]) if table is None else pl.DataFrame(table)
    with pytest.raises(ConfigError, match=match):
        to_markdown(frame, **{"metrics": ["ndcg"], "extra": [], **kwargs})
