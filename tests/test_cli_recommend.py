"""``recokit recommend``: the newsletter export of the shipped pipeline file on the sports shop's
own exports (written here as CSV and Parquet)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from recokit.cli import main
from shop_files import write_exports

PIPELINE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "sports_shop_pipeline.toml"


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    return write_exports(tmp_path_factory.mktemp("exports"), 600, 4, catalog=".parquet")


def _run(paths, out, *extra):
    return main(["recommend", "--pipeline", str(PIPELINE), "--orders", str(paths["orders"]), "--catalog", str(paths["catalog"]),
                 "--customers", str(paths["customers"]), "--out", str(out), "--no-progress", *extra])


@pytest.fixture(scope="module")
def newsletter(exports, tmp_path_factory):
    tables, paths = exports
    out = tmp_path_factory.mktemp("out") / "news.csv"
    assert _run(paths, out, "--k", "4") == 0
    return tables, pl.read_csv(out, schema_overrides={"customer_id": pl.String, "item_id": pl.String})


def test_the_newsletter_reaches_exactly_the_customers_with_email_consent(newsletter):
    tables, table = newsletter
    agreed = set(tables.customers.filter(pl.col("consent_email"))["customer_id"].to_list())
    assert set(table["customer_id"].to_list()) == agreed
    assert 0 < len(agreed) < tables.customers.height  # the filter had something to do


def test_each_customer_gets_k_distinct_items_with_their_catalogue_names_and_a_reason(newsletter):
    tables, table = newsletter
    per = table.group_by("customer_id").agg(pl.len().alias("n"), pl.col("item_id").n_unique().alias("distinct"), pl.col("rank").sort().alias("ranks"))
    assert per["n"].to_list() == [4] * per.height and per["distinct"].to_list() == [4] * per.height
    assert all(r == [1, 2, 3, 4] for r in per["ranks"].to_list())
    names = dict(tables.catalog.select("item_id", "name").iter_rows())
    assert all(names[i] == n for i, n in table.select("item_id", "name").iter_rows())
    assert table["reason"].null_count() == 0


def test_the_exported_lists_keep_the_rules(newsletter):
    """The rules file's in-stock filter holds in the written lists, checked on the catalogue."""
    tables, table = newsletter
    out_of_stock = set(tables.catalog.filter(pl.col("stock") <= 0)["item_id"].to_list())
    assert out_of_stock and not (set(table["item_id"].to_list()) & out_of_stock)


def test_parquet_output_equals_the_csv_one(exports, newsletter, tmp_path):
    _, paths = exports
    out = tmp_path / "news.parquet"
    assert _run(paths, out, "--k", "4") == 0
    parquet = pl.read_parquet(out)
    csv = newsletter[1]
    assert parquet.select("customer_id", "rank", "item_id").rows() == csv.select("customer_id", "rank", "item_id").rows()


def test_without_a_consent_filter_every_customer_of_the_table_is_served(exports, tmp_path, capsys):
    tables, paths = exports
    out = tmp_path / "all.csv"
    assert _run(paths, out, "--k", "2", "--consent-col", "") == 0
    served = pl.read_csv(out, schema_overrides={"customer_id": pl.String})["customer_id"].unique()
    assert served.len() == tables.customers.height
    assert "e-mail consent" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "says"),
    [(("--k", "0"), "--k must be >= 1"), (("--consent-col", "no_such_column"), "no column 'no_such_column'")],
)
def test_bad_arguments_are_a_recokit_error_with_exit_code_2(exports, tmp_path, capsys, extra, says):
    _, paths = exports
    assert _run(paths, tmp_path / "x.csv", *extra) == 2
    assert says in capsys.readouterr().err


def test_an_output_that_is_neither_csv_nor_parquet_is_refused_before_any_work(exports, tmp_path, capsys):
    _, paths = exports
    assert _run(paths, tmp_path / "x.xlsx") == 2
    assert "write to a .csv or a .parquet file" in capsys.readouterr().err


def test_a_consent_column_without_the_customers_table_is_an_error(exports, tmp_path, capsys):
    _, paths = exports
    code = main(["recommend", "--pipeline", str(PIPELINE), "--orders", str(paths["orders"]), "--catalog", str(paths["catalog"]),
                 "--out", str(tmp_path / "x.csv"), "--no-progress"])
    assert code == 2
    assert "needs the customers table" in capsys.readouterr().err


def test_no_progress_bar_when_stderr_is_not_a_terminal(exports, tmp_path, capsys):
    """Without --no-progress: a bar on a terminal, nothing in a log or a pipe (pytest's capture
    is not a terminal)."""
    _, paths = exports
    code = main(["recommend", "--pipeline", str(PIPELINE), "--orders", str(paths["orders"]), "--catalog", str(paths["catalog"]),
                 "--customers", str(paths["customers"]), "--out", str(tmp_path / "n.csv"), "--k", "2"])
    captured = capsys.readouterr()
    assert code == 0
    assert "%|" not in captured.err and "customers:" not in captured.err
