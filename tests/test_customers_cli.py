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


def test_customers_command_writes_the_contact_plan(tmp_path, capsys):
    from recokit.customers import contact_plan
    from recokit.datasets import sports_shop_tables

    t = sports_shop_tables(600, seed=2, web_events=True)
    paths = {name: tmp_path / f"{name}.csv" for name in ("orders", "catalog", "people")}
    t.interactions.drop("price").write_csv(paths["orders"])
    t.catalog.write_csv(paths["catalog"])
    t.customers.write_csv(paths["people"])
    args = ["customers", "--interactions", str(paths["orders"]), "--catalog", str(paths["catalog"]), "--customers-table", str(paths["people"]),
            "--time-col", "timestamp", "--basket-col", "order_id", "--quantity-col", "quantity", "--event-col", "event",
            "--out", str(tmp_path / "rfm.csv"), "--on", "2025-10-06"]
    assert main([*args, "--contact-plan", str(tmp_path / "plan.parquet"), "--items-model", "popularity"]) == 0
    printed = capsys.readouterr().out
    written = pl.read_parquet(tmp_path / "plan.parquet")
    ds = Dataset(t.interactions, t.catalog, t.customers, time_col="timestamp", basket_col="order_id", quantity_col="quantity", event_col="event")
    from recokit import Popularity

    expected = contact_plan(ds, on="2025-10-06", recommender=Popularity().fit(ds))
    assert written.select("customer_id", "kind", "when", "reason").equals(expected.select("customer_id", "kind", "when", "reason"))
    assert written["items"].to_list() == expected["items"].to_list()
    assert f"{written.height} messages" in printed and "abandoned_cart" in printed
    assert main([*args, "--contact-plan", str(tmp_path / "plan.csv")]) == 0  # CSV: items as text
    as_csv = pl.read_csv(tmp_path / "plan.csv")
    assert as_csv["customer_id"].to_list() == expected["customer_id"].to_list()
    carts = as_csv.filter(kind="abandoned_cart")["items"]
    assert carts.len() > 0 and carts.str.contains("in your cart since").all()
