"""benchmarks/compare_models.py stays runnable, and its implicit adapter honours the batch contract."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recokit import Query

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_models.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("compare_models", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kind", ["cosine", "bm25", "als"])
def test_implicit_adapter_batch_equals_one_by_one(bench, shop, kind):
    model = bench.ImplicitPeer(kind=kind, factors=8, iterations=3).fit(shop)
    customers = shop.customer_ids.to_list()[::60]
    batch = model.recommend_many(customers, k=5, reasons=False)
    for c in customers:
        one = model.recommend(Query(customer_id=c, k=5)).item_ids
        assert batch.filter(customer_id=c)["item_id"].to_list() == one
    cart = model.recommend(Query(items=[shop.item_ids.id(0)], k=5))
    assert shop.item_ids.id(0) not in cart.item_ids and len(cart) == 5


def test_benchmark_runs_end_to_end_on_a_small_shop(bench, tmp_path, capsys):
    code = bench.main(
        ["--only", "shop", "--customers", "300", "--n-boot", "20", "--k", "5", "10", "--data", str(tmp_path / "none"),
         "--out", str(tmp_path), "--no-progress"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "## shop" in out and "| implicit BM25 | 10 |" in out and "| Popularity | 5 |" in out
    assert "Paired bootstrap on per-case NDCG@10" in out
    for name in ("shop_metrics_vs_k.png", "shop_ndcg_vs_latency.png", "shop.csv"):
        assert (tmp_path / name).stat().st_size > 0
    assert np.isfinite(float(out.split("| implicit BM25 | 10 | ")[1].split(" ")[0]))
    # the shop's rules are checked on every list: the ruled model never breaks one, the raw one does
    table = pl.read_csv(tmp_path / "shop.csv")
    violations = dict(table.filter(pl.col("k") == 10).select("model", "rule_violations").rows())
    assert violations["Popularity + rules"] == 0
    assert violations["Popularity"] > 0
