"""`recokit demo` end to end through the console entry point."""

from __future__ import annotations

import re

import polars as pl

from recokit.cli import main


def test_demo_runs_and_every_suggestion_has_a_reason(capsys):
    assert main(["demo", "--customers", "1500", "--seed", "3", "--show", "2"]) == 0
    out = capsys.readouterr().out
    for heading in ("Home page", "out of stock", "time to renew", "no second child bike", "bought together", "Because you bought"):
        assert heading in out
    # every numbered recommendation line carries a reason after " -- " (except the rules section's
    # deliberately reason-less "Without rules" contrast list)
    without = re.compile(r"Without rules.*?With the rules", re.S)
    lines = [ln for ln in without.sub("", out).splitlines() if re.match(r"\s+\d+\. .*\[P\d{4}\]", ln)]
    assert len(lines) > 20, "the demo printed too few recommendations"
    assert [ln for ln in lines if " -- " not in ln] == []


def test_demo_home_page_respects_consent_and_stock(capsys):
    from recokit.cli.demo import pick_customers, run_demo
    from recokit.datasets import sports_shop

    shop = sports_shop(1500, seed=3)
    run_demo(n_customers=1500, seed=3, show=3)
    out = capsys.readouterr().out
    home = out.split("== Home page", 1)[1].split("\n== ", 1)[0]
    sold_out = set(shop.catalog.filter(pl.col("stock") <= 0)["item_id"].to_list())
    shown = set(re.findall(r"\[(P\d{4})\]", home.split("Recommended", 1)[1]))
    assert shown and not shown & sold_out
    for c in pick_customers(shop, 3):
        row = shop.customer_row(c)
        block = home.split(f"Customer {c}", 1)[1].split("Customer ", 1)[0]
        assert ("no consent" in block) == (not row["consent_personalization"])


def test_bad_demo_size_is_a_clear_error(capsys):
    assert main(["demo", "--customers", "0"]) == 2
    assert "n_customers" in capsys.readouterr().err
