"""Loaders read small files written here (never ../shared/data) and build the expected Dataset."""

from __future__ import annotations

import polars as pl
import pytest

from recokit import ConfigError, DataError, DataWarning
from recokit.datasets.loaders import load_basket_lines, load_movielens_100k, load_transactions

GENRES0 = "|".join(["0"] * 19)


def _genre_flags(*on: int) -> str:
    flags = ["0"] * 19
    for i in on:
        flags[i] = "1"
    return "|".join(flags)


@pytest.fixture
def ml_folder(tmp_path):
    (tmp_path / "u.data").write_text("1\t10\t5\t881250949\n1\t20\t2\t881250950\n2\t10\t3\t891717742\n")
    lines = [
        f"10|Café Society (1995)|01-Jan-1995||http://x|{_genre_flags(1, 8)}",  # Action, Drama
        f"20|Nothing (1996)|||http://y|{GENRES0}",
        f"30|Never rated (1997)|01-Jan-1997||http://z|{_genre_flags(5)}",  # Comedy
    ]
    (tmp_path / "u.item").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return tmp_path


def test_movielens_reads_ratings_and_catalog(ml_folder):
    ds = load_movielens_100k(ml_folder)
    assert (ds.n_customers, ds.n_items, ds.n_interactions) == (2, 3, 3)  # item 30: catalogue only
    cat = ds.catalog.sort("item_id")
    assert cat["title"][0] == "Café Society (1995)"  # latin-1 decoded
    assert cat["genres"].to_list() == [["Action", "Drama"], [], ["Comedy"]]
    assert cat["category"].to_list() == ["Action", "unknown", "Comedy"]
    assert ds.interactions.filter(pl.col("customer_id") == 1)["item_id"].to_list() == [10, 20]
    assert ds.interactions["weight"].to_list() == [1.0, 1.0, 1.0]  # implicit feedback
    assert str(ds.interactions["timestamp"].min()) == "1997-12-04 15:55:49"


def test_movielens_accepts_the_data_file_and_counts_dropped_ratings(ml_folder):
    with pytest.warns(DataWarning, match="dropped 2 of 3 ratings below min_rating=4"):
        ds = load_movielens_100k(ml_folder / "u.data", min_rating=4)
    assert ds.interactions["item_id"].to_list() == [10]


def test_movielens_missing_folder_says_no_download(tmp_path):
    with pytest.raises(DataError, match="never downloads"):
        load_movielens_100k(tmp_path / "nope")


def test_basket_lines_one_basket_per_line(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text('citrus fruit,semi-finished bread,margarine\n\ntropical fruit,yogurt,"coffee, ground"\nwhole milk,whole milk\n')
    with pytest.warns(DataWarning, match="skipped 1 blank"):
        ds = load_basket_lines(path)
    assert ds.n_baskets == 3 and ds.n_customers == 3
    assert ds.n_items == 7  # 'coffee, ground' stays one quoted item
    assert ds.basket_items.sum(axis=1).tolist() == [3.0, 3.0, 1.0]  # whole milk twice -> once in the basket
    assert ds.user_items.sum() == 8.0


def test_basket_lines_rejects_a_bad_separator(tmp_path):
    (tmp_path / "g.csv").write_text("a,b\n")
    with pytest.raises(ConfigError, match="one character"):
        load_basket_lines(tmp_path / "g.csv", separator=";;")


def test_transactions_with_column_mapping_and_day_first_dates(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("Member_number,Date,itemDescription\n7,21-07-2015,milk\n7,21-07-2015,bread\n7,01-08-2015,milk\n9,05-01-2015,beer\n")
    ds = load_transactions(path, customer_col="Member_number", item_col="itemDescription", time_col="Date", time_format="%d-%m-%Y")
    assert (ds.n_customers, ds.n_items, ds.n_baskets) == (2, 3, 3)  # member-day baskets
    assert str(ds.interactions["timestamp"].max()) == "2015-08-01 00:00:00"


def test_transactions_reports_unparseable_dates(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("c,t,i\n1,2015-07-21,a\n1,31-31-2015,b\n")
    with pytest.raises(DataError, match="do not match time_format"):
        load_transactions(path, customer_col="c", item_col="i", time_col="t", time_format="%Y-%m-%d")
