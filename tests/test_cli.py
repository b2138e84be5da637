"""`recokit demo` end to end through the console entry point."""

from __future__ import annotations

import datetime as dt
import io
import re

import polars as pl
import pytest

from recokit.cli import main


def test_demo_runs_and_every_suggestion_has_a_reason(capsys):
    assert main(["demo", "--customers", "1500", "--seed", "3", "--show", "2"]) == 0
    out = capsys.readouterr().out
    for heading in ("Home page", "out of stock", "time to renew", "no second child bike", "what goes with it", "Because you bought"):
        assert heading in out
    # every numbered recommendation line carries a reason after " -- " (except the rules section's
    # deliberately reason-less "Without the child-bike rule" contrast list)
    without = re.compile(r"Without the child-bike rule.*?With the rules", re.S)
    lines = [ln for ln in without.sub("", out).splitlines() if re.match(r"\s+\d+\. .*\[P\d{4}\]", ln)]
    assert len(lines) > 20, "the demo printed too few recommendations"
    assert [ln for ln in lines if " -- " not in ln] == []


@pytest.fixture(scope="module")
def demo_run():
    """The demo's output on a small shop, and that shop rebuilt independently (same seed)."""
    from recokit.cli.demo import run_demo
    from recokit.datasets import sports_shop

    buf = io.StringIO()
    run_demo(n_customers=1500, seed=3, show=3, out=buf)
    return buf.getvalue(), sports_shop(1500, seed=3)


def _customer_blocks(out: str):
    """``(customer_id, text)`` for every customer block the demo prints, up to its first blank
    line (the next section -- e.g. an anonymous product page -- is not the customer's)."""
    parts = re.split(r"\n  Customer (C\d+)", out)
    return [(c, text.split("\n\n", 1)[0]) for c, text in zip(parts[1::2], parts[2::2], strict=True)]


def test_demo_never_shows_an_out_of_stock_item(demo_run):
    out, shop = demo_run
    sold_out = set(shop.catalog.filter(pl.col("stock") <= 0)["item_id"].to_list())
    offered = re.findall(r"^\s+\d+\. .*?\[(P\d{4})\]", out, re.M)  # every list, the contrast list too
    assert len(offered) > 40
    assert sorted(set(offered) & sold_out) == []


def test_demo_never_shows_the_history_of_a_customer_without_consent(demo_run):
    out, shop = demo_run
    blocks = _customer_blocks(out)
    assert len(blocks) >= 8
    checked = 0
    for c, block in blocks:
        row = shop.customer_row(c) or {}
        if row.get("consent_personalization"):
            continue
        checked += 1
        assert not re.search(r"^\s+\d{4}-\d{2}-\d{2}  ", block, re.M), f"history of {c} (no consent) shown"
        assert "bought" not in block.split("\n", 1)[0], f"a purchase of {c} (no consent) named"
        own = set(shop.history(c)["item_id"].to_list())
        reasons = re.findall(r"^\s+\d+\. .* -- (.*)$", block, re.M)
        assert not [r for r in reasons if any(i in r for i in own) or "you bought" in r], f"{c}: a personal reason without consent"
    assert checked >= 1, "the demo shows no customer without consent: the check would be empty"


def test_demo_explains_a_recent_purchase_offered_again_as_a_repurchase(demo_run):
    out, shop = demo_run
    names = dict(zip(shop.catalog["item_id"].to_list(), shop.catalog["name"].to_list(), strict=True))
    now = shop.interactions["timestamp"].max()
    reoffers = 0
    for c, block in _customer_blocks(out):
        hist = shop.history(c)
        recent = set(hist.filter(pl.col("timestamp") >= now - dt.timedelta(days=90))["item_id"].to_list())
        for item, reason in re.findall(r"^\s+\d+\. .*?\[(P\d{4})\] -- (.*)$", block, re.M):
            if item not in recent:
                continue
            reoffers += 1
            # the reason may name the item itself (renew / buy again), never another purchase
            other = [names[i] for i in set(hist["item_id"].to_list()) - {item} if names[i] in reason]
            assert not other, f"{c}: {item} bought recently, offered again 'because of' {other}: {reason!r}"
    assert reoffers >= 1, "no recent purchase offered again in the demo: the check would be empty"


def test_bad_demo_size_is_a_clear_error(capsys):
    assert main(["demo", "--customers", "0"]) == 2
    assert "n_customers" in capsys.readouterr().err


def test_version_prints_the_package_version(capsys):
    import recokit

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"recokit {recokit.__version__}"


def test_demo_shows_every_customer_in_one_rfm_segment(demo_run):
    """The segments section: one line per segment, the counts add up to the shop's customers."""
    text, shop = demo_run
    section = text.split("== Customers: RFM segments")[1].split("== ")[0]
    counts = [int(m.group(1)) for m in re.finditer(r"^  \w+\s+(\d+)  ", section, re.M)]
    assert counts and sum(counts) == shop.n_customers
