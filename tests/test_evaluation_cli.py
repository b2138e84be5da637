"""``recokit evaluate`` on a small CSV written here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recokit.cli import main


def _write_orders(path, n=1500, seed=0):
    rng = np.random.default_rng(seed)
    start = dt.datetime(2024, 1, 1)
    frame = pl.DataFrame(
        {
            "client": rng.integers(0, 150, n),
            "sku": [f"S{i:02d}" for i in rng.zipf(1.6, n) % 40],
            "day": [(start + dt.timedelta(days=int(d))).strftime("%d/%m/%Y") for d in rng.integers(0, 120, n)],
        }
    )
    frame.write_csv(path)


def test_evaluate_command_prints_a_table(tmp_path, capsys):
    path = tmp_path / "orders.csv"
    _write_orders(path)
    code = main(
        ["evaluate", "--interactions", str(path), "--customer-col", "client", "--item-col", "sku", "--time-col", "day",
         "--time-format", "%d/%m/%Y", "--k", "3", "5", "--n-boot", "50", "--no-progress"]
    )
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0
    # no catalogue: ContentBased learns nothing, and the console says so (it is still in the table)
    assert "warning: ContentBased: ContentBased learnt nothing: the catalogue has no usable attribute" in captured.err
    assert "temporal split, cut-off" in out
    rows = [line for line in out.splitlines() if line.startswith("| Popularity |")]
    assert [r.split("|")[2].strip() for r in rows] == ["3", "5"]
    assert "[95% CI]" in out


def test_evaluate_command_reports_a_bad_column(tmp_path, capsys):
    path = tmp_path / "orders.csv"
    _write_orders(path)
    code = main(["evaluate", "--interactions", str(path), "--customer-col", "nope", "--no-progress"])
    assert code == 2
    assert "missing required column" in capsys.readouterr().err


def test_evaluate_command_random_protocol_without_time(tmp_path, capsys):
    path = tmp_path / "orders.csv"
    _write_orders(path)
    code = main(["evaluate", "--interactions", str(path), "--customer-col", "client", "--item-col", "sku",
                 "--models", "Popularity", "--k", "5", "--n-boot", "0", "--no-progress"])
    assert code == 0
    assert "random split" in capsys.readouterr().out


def test_evaluate_command_counts_rule_violations(tmp_path, capsys):
    path = tmp_path / "orders.csv"
    _write_orders(path)
    catalog = pl.DataFrame({"sku": [f"S{i:02d}" for i in range(40)], "stock": [0 if i in (1, 2) else 5 for i in range(40)]})
    catalog.write_csv(tmp_path / "catalog.csv")
    (tmp_path / "rules.toml").write_text('[[rule]]\nname = "in stock"\ntype = "filter"\nkeep = "stock > 0"\n')
    code = main(["evaluate", "--interactions", str(path), "--catalog", str(tmp_path / "catalog.csv"), "--customer-col", "client",
                 "--item-col", "sku", "--models", "Popularity", "--k", "5", "--n-boot", "0", "--rules", str(tmp_path / "rules.toml"),
                 "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("| model |"))
    row = next(line for line in out.splitlines() if line.startswith("| Popularity |"))
    cells = dict(zip([c.strip() for c in header.split("|")], [c.strip() for c in row.split("|")], strict=True))
    # S01 and S02, out of stock, are the two best sellers (zipf draws 1 and 2 most): raw best-seller lists break the rule
    assert int(cells["rule_violations"]) > 0


PIPELINE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "sports_shop_pipeline.toml"


@pytest.fixture(scope="module")
def shop_files(tmp_path_factory):
    from shop_files import write_exports

    return write_exports(tmp_path_factory.mktemp("shop"), 500, 5)


def _evaluate_pipeline(paths, *extra):
    return main(["evaluate", "--pipeline", str(PIPELINE), "--interactions", str(paths["orders"]), "--catalog", str(paths["catalog"]),
                 "--customers", str(paths["customers"]), "--k", "10", "--n-boot", "20", "--no-progress", *extra])


@pytest.mark.parametrize("suffix", [".csv", ".json", ".md"])
def test_evaluate_runs_the_deployed_ruled_hybrid_with_its_consent_rule(shop_files, tmp_path, capsys, suffix):
    """The shipped pipeline (a ruled hybrid whose rules file has a consent rule) evaluates with
    the customers table; its lists break none of its rules, its models alone do; the table is
    written in the format asked."""
    tables, paths = shop_files
    assert any('type = "require_consent"' in line for line in (PIPELINE.parent / "sports_shop_rules.toml").read_text().splitlines())
    out = tmp_path / f"table{suffix}"
    assert _evaluate_pipeline(paths, "--out", str(out)) == 0
    printed = capsys.readouterr().out
    assert f"wrote the table to {out}" in printed
    if suffix == ".md":
        text = out.read_text()
        assert "| pipeline | 10 |" in text and "because alone (ItemKNN)" in text
        return
    table = pl.read_csv(out) if suffix == ".csv" else pl.read_json(out)
    rows = {r["model"]: r for r in table.iter_rows(named=True)}
    assert set(rows) == {"pipeline", "because alone (ItemKNN)", "together alone (AssociationRules)", "tastes alone (ALS)", "trending alone (Popularity)"}
    assert rows["pipeline"]["rule_violations"] == 0
    assert rows["because alone (ItemKNN)"]["rule_violations"] > 0  # unruled lists do break the shop's rules
    assert all(0 <= r["ndcg"] <= 1 for r in rows.values())


def test_evaluate_with_a_pipeline_refuses_column_flags_and_model_lists(shop_files, capsys):
    _, paths = shop_files
    assert _evaluate_pipeline(paths, "--item-col", "sku") == 2
    assert "the pipeline file's [data] names the columns" in capsys.readouterr().err
    assert _evaluate_pipeline(paths, "--models", "ItemKNN") == 2
    assert "the pipeline file says which models run" in capsys.readouterr().err


def test_evaluate_refuses_an_unknown_output_format_before_any_work(shop_files, tmp_path, capsys):
    _, paths = shop_files
    assert _evaluate_pipeline(paths, "--out", str(tmp_path / "t.xlsx")) == 2
    assert "write to a .csv, .json or .md file" in capsys.readouterr().err


def test_evaluate_says_when_an_unread_quantity_column_holds_cancellations(tmp_path, capsys):
    orders = pl.DataFrame({
        "client": [1, 1, 2, 2, 3, 3, 3, 4],
        "sku": ["a", "b", "a", "c", "b", "c", "a", "b"],
        "Quantity": [1, -1, 2, 1, 0, 1, -3, 1],
    })
    path = tmp_path / "orders.csv"
    orders.write_csv(path)
    cancellations = int((orders["Quantity"] <= 0).sum())  # counted here, from the frame
    code = main(["evaluate", "--interactions", str(path), "--customer-col", "client", "--item-col", "sku",
                 "--protocol", "random", "--models", "Popularity", "--n-boot", "0", "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0
    assert f"column 'Quantity' is not read as quantities and has {cancellations} line(s) <= 0" in printed
    assert "--quantity-col Quantity" in printed
