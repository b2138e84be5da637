"""``recokit customers`` on small files written here."""

from __future__ import annotations

import polars as pl

from recokit import Dataset
from recokit.cli import main
from recokit.customers import rfm


def _files(tmp_path):
    orders = pl.DataFrame(
        {
            "client": ["ann", "ann", "bob", "cid", "cid"],
            "sku": ["shoe", "gel", "gel", "bike", "gel"],
            "day": ["01/06/2025", "25/06/2025", "01/03/2025", "29/06/2025", "29/06/2025"],
        }
    )
    catalog = pl.DataFrame({"sku": ["shoe", "gel", "bike"], "price": [100.0, 2.5, 500.0]})
    people = pl.DataFrame({"client": ["ann", "bob", "cid", "zoe"]})
    paths = {name: tmp_path / f"{name}.csv" for name in ("orders", "catalog", "people")}
    orders.write_csv(paths["orders"])
    catalog.write_csv(paths["catalog"])
    people.write_csv(paths["people"])
    return paths, orders, catalog, people


def test_customers_command_writes_the_rfm_table(tmp_path, capsys):
    paths, orders, catalog, people = _files(tmp_path)
    out = tmp_path / "rfm.csv"
    code = main(
        ["customers", "--interactions", str(paths["orders"]), "--catalog", str(paths["catalog"]), "--customers-table", str(paths["people"]),
         "--customer-col", "client", "--item-col", "sku", "--time-col", "day", "--time-format", "%d/%m/%Y", "--at", "2025-06-30", "--out", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert f"wrote 4 customers to {out}" in printed
    written = pl.read_csv(out)
    ds = Dataset(orders.with_columns(pl.col("day").str.to_date("%d/%m/%Y")), catalog, people, customer_col="client", item_col="sku", time_col="day")
    assert written.equals(rfm(ds, at="2025-06-30"))
    assert written["segment"].to_list()[-1] == "prospect"
    assert "  prospect" in printed


def test_customers_command_errors_are_messages(tmp_path, capsys):
    paths, *_ = _files(tmp_path)
    code = main(["customers", "--interactions", str(paths["orders"]), "--customer-col", "client", "--item-col", "sku", "--time-col", "day",
                 "--time-format", "%d/%m/%Y", "--out", str(tmp_path / "x.csv")])
    assert code == 2
    assert "no price to measure what customers spent" in capsys.readouterr().err
    code = main(["customers", "--interactions", str(paths["orders"]), "--customer-col", "client", "--item-col", "sku", "--time-col", "day",
                 "--time-format", "%d/%m/%Y", "--price", "units", "--window-days", "0", "--out", str(tmp_path / "y.csv")])
    assert code == 0 and "in all history" in pl.read_csv(tmp_path / "y.csv")["reason"][0]
