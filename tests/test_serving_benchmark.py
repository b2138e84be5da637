"""benchmarks/serving.py stays runnable (tiny sizes; nothing here times anything) and its scaled
shop keeps the structure the shop's rules file needs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from recokit import load_rules

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "serving.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("serving", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up by name
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_scaled_shop_has_the_shops_columns_and_the_asked_size(bench, shop):
    ds = bench.scaled_shop(300, 1200, seed=0)
    assert ds.n_items == 1200 and ds.n_customers == 300
    assert set(ds.catalog["category"].unique()) == set(shop.catalog["category"].unique())
    assert ds.catalog["item_id"].n_unique() == 1200
    assert len(load_rules(ROOT / "docs" / "examples" / "sports_shop_rules.toml", catalog=ds)) == 7


def test_benchmark_runs_every_target_on_tiny_sizes(bench, tmp_path, capsys):
    code = bench.main(
        ["--quick", "--runs", "2", "--requests", "6", "--k-requests", "2", "--batch-customers", "8", "--items", "1000",
         "--customers", "400", "--knn-customers", "400", "--knn-items", "200", "--knn-interactions", "3000", "--c-batch", "100",
         "--reasons-batch", "20", "--memory-items", "1000", "--memory-customers", "300", "--memory-batches", "2,4",
         "--huge-k", "100000", "--data", str(tmp_path / "none"), "--no-profile"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("command: PYTHONPATH=src python benchmarks/serving.py --quick")
    for key in ("a1", "a2", "a3", "a4", "b1", "b2", "b3", "c synthetic ItemKNN reasons=False", "c synthetic ALS reasons=True", "d1", "d2"):
        assert f"| {key} |" in out
    assert "ml-100k: absent" in out
    summary = out.split("## Summary")[1]
    assert summary.count("| PASS |") + summary.count("| MISS |") == 13  # a1-a4, b1-b3, 4 on synthetic, d1, d2
