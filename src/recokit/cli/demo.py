"""``recokit demo``: the library at work on the built-in synthetic sports shop.

Each section is a small function taking the shop and the fitted models, so a new model adds a
section without touching the others.
"""

from __future__ import annotations

import time
import warnings
from typing import TextIO

import polars as pl

from recokit._errors import DataWarning
from recokit.core import Query, Recommender
from recokit.data import Dataset
from recokit.hybrid import Hybrid
from recokit.models import AssociationRules, ContentBased, ItemKNN, Popularity, Renewal
from recokit.rules import (
    Boost,
    ExcludeOwned,
    Filter,
    MaxPerGroup,
    OnePerGroup,
    RequireConsent,
    Ruled,
)


def _name(shop: Dataset, item_id) -> str:
    if "name" not in shop.catalog.columns:
        return str(item_id)
    row = shop.catalog.filter(pl.col("item_id") == item_id)
    return f"{row['name'][0]} [{item_id}]" if row.height else str(item_id)


def _print_recs(shop: Dataset, recs, out: TextIO, indent: str = "    ") -> None:
    if not len(recs):
        print(f"{indent}(nothing to recommend)", file=out)
    for r in recs:
        print(f"{indent}{r.rank}. {_name(shop, r.item_id)} -- {r.reason}", file=out)


def pick_customers(shop: Dataset, show: int) -> list:
    """Customers with the longest histories first (the most interesting to look at), by id on ties."""
    counts = (
        shop.interactions.group_by("customer_id")
        .agg(pl.len().alias("n"))
        .sort(["n", "customer_id"], descending=[True, False])
    )
    return counts["customer_id"].head(show).to_list()


def _consents(shop: Dataset, c) -> bool:
    return bool((shop.customer_row(c) or {}).get("consent_personalization"))


def home_customers(shop: Dataset, show: int) -> list:
    """The longest histories, with one customer without consent among them when the shop has
    one (what such a visitor sees matters as much)."""
    ranked = pick_customers(shop, shop.n_customers)
    chosen = ranked[:show]
    if show > 1 and all(_consents(shop, c) for c in chosen):
        without = next((c for c in ranked if not _consents(shop, c)), None)
        if without is not None:
            chosen = [*chosen[: show - 1], without]
    return chosen


def home_rules() -> list:
    """The home page's rules: the shop's full set (docs/examples/sports_shop_rules.toml)."""
    return [
        Filter("stock > 0", name="in stock only"),
        ExcludeOwned(match="category <> 'running_shoes'", unless="consumable", name="durables once"),
        ExcludeOwned(match="category = 'running_shoes'", renew_after=180, name="running shoes again after 180 days"),
        OnePerGroup("category = 'child_bike'", within=730, name="no second child bike"),
        MaxPerGroup("category", 2, name="at most 2 per category"),
        Boost("eco_label", 1.2, name="eco up 20%"),
        RequireConsent("consent_personalization", name="personalise with consent only"),
    ]


def _history_lines(shop: Dataset, c, n: int, out: TextIO) -> None:
    """A customer's latest purchases, only with their consent to personalisation."""
    if not _consents(shop, c):
        print("    (history not shown: no consent to personalisation)", file=out)
        return
    for row in shop.history(c).sort("timestamp", descending=True).head(n).iter_rows(named=True):
        print(f"    {row['timestamp']:%Y-%m-%d}  {_name(shop, row['item_id'])}", file=out)


def section_customers(shop: Dataset, models: dict, out: TextIO, show: int) -> None:
    model = models["home"]
    print("== Home page: what this customer may want next", file=out)
    print("   The shop's pipeline: Hybrid(Renewal, bought together, ItemKNN, trending) under the shop's", file=out)
    print("   rules; each reason comes from the model that contributed most.", file=out)
    for c in home_customers(shop, show):
        consent = _consents(shop, c)
        print(f"\n  Customer {c}, recent purchases:", file=out)
        _history_lines(shop, c, 4, out)
        note = "" if consent else " (no consent to personalisation: the shop's trending products, never their history)"
        print(f"  Recommended{note}:", file=out)
        _print_recs(shop, model.recommend(Query(customer_id=c, k=5)), out)


def _adult_bike(shop: Dataset):
    """The best-selling bike that is not a kids' bike (by category, else by name)."""
    cat = shop.catalog
    col = "category" if "category" in cat.columns else ("name" if "name" in cat.columns else "item_id")
    text = pl.col(col).cast(pl.String).str.to_lowercase()
    bikes = cat.filter(text == "adult_bike")["item_id"].to_list() or cat.filter(
        text.str.contains("bike") & ~text.str.contains("kid|child|junior|balance|light|pump|lock|helmet|tube")
    )["item_id"].to_list()
    if not bikes:
        return None
    sold = shop.item_counts()
    return max(bikes, key=lambda i: (sold[shop.item_ids.get(i)], str(i)))


def _median_seller(shop: Dataset, item_id):
    """The product of ``item_id``'s category with the median sales (by id on ties)."""
    row = shop.catalog.filter(pl.col("item_id") == item_id)
    if "category" not in shop.catalog.columns or not row.height:
        return item_id
    same = shop.catalog.filter(pl.col("category") == row["category"][0])["item_id"].to_list()
    sold = shop.item_counts()
    ranked = sorted(same, key=lambda i: (-sold[shop.item_ids.get(i)], str(i)))
    return ranked[len(ranked) // 2]


def _category_of(shop: Dataset, item_id) -> str:
    row = shop.catalog.filter(pl.col("item_id") == item_id)
    return str(row["category"][0]) if row.height and "category" in row.columns else "?"


def section_bought_together(shop: Dataset, models: dict, out: TextIO, show: int) -> None:
    model = models["home"]
    print("== Product page and cart, anonymous visitor: what goes with it", file=out)
    print("   The shop's pipeline again: no customer, only the product on screen (or the cart).", file=out)
    bike = _adult_bike(shop)
    if bike is None:
        print("  (no adult bike in this catalogue)", file=out)
        return
    print(f"\n  On the page of {_name(shop, bike)}:", file=out)
    page = model.recommend(Query(items=[bike], k=3))
    _print_recs(shop, page, out)
    cart = [bike, *page.item_ids[:1]]
    print(f"\n  Cart: {' + '.join(_name(shop, i) for i in cart)}. To complete it:", file=out)
    _print_recs(shop, model.recommend(Query(items=cart, k=3)), out)
    assoc = models["association"]  # AssociationRules(level="category")
    if assoc.level is not None:
        # a bike sold a few times: too few baskets per accessory for item rules, enough per category
        rare = _median_seller(shop, bike)
        print(f"\n  The pack of {_name(shop, rare)}, sold in {int(assoc.item_counts_[shop.item_ids.get(rare)])} baskets: "
              f"one product of each category that goes with '{_category_of(shop, rare)}', in stock (bundle):", file=out)
        _print_recs(shop, assoc.bundle(rare, 3), out)
    n_level = assoc.level_rules_.height if assoc.level_rules_ is not None else 0
    print(f"\n  (bought-together rules behind it: {assoc.rules_.height} between products and {n_level} between categories, "
          f"mined from {assoc.n_baskets_} baskets)", file=out)


def section_out_of_stock(shop: Dataset, models: dict, out: TextIO, show: int) -> None:
    model = models["content"]
    print("== Product page, item out of stock: comparable products in stock", file=out)
    print("   ContentBased.alternatives (in stock only, no customer data).", file=out)
    if "stock" not in shop.catalog.columns:
        print("  (the catalogue has no stock column)", file=out)
        return
    # the out-of-stock products customers buy most (the substitutions that matter), by id on ties
    counts = pl.DataFrame({"item_id": shop.item_ids.series, "n": shop.item_counts()})
    gone = shop.catalog.filter(pl.col("stock") <= 0).select("item_id").join(counts, on="item_id")
    for item in gone.sort(["n", "item_id"], descending=[True, False])["item_id"].head(max(1, show - 1)).to_list():
        print(f"\n  {_name(shop, item)} is out of stock. Instead:", file=out)
        _print_recs(shop, model.alternatives(item, k=3), out)


def section_renewal(shop: Dataset, models: dict, out: TextIO, show: int) -> None:
    model = models["renewal"]  # Ruled(Renewal(), in stock only)
    renewal = model.model_
    print("== Newsletter: time to renew", file=out)
    print("   Renewal under the in-stock rule, sent only to customers with e-mail consent.", file=out)
    renewable = renewal.intervals_.filter(pl.col("renewable"))
    for row in renewable.head(6).iter_rows(named=True):
        print(
            f"  {row['category']}: renewed by {row['repeat_share']:.0%} of buyers, typically after "
            f"{row['q25_days']:.0f}-{row['q75_days']:.0f} days (median {row['median_days']:.0f})",
            file=out,
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        table = model.recommend_many(shop.customer_ids.to_list(), k=1, backfill=False, reasons=False, consent="consent_email")
    for w in caught:
        print(f"  ({w.message})", file=out)
    cats = shop.catalog.select("item_id", pl.col(renewal.category_column).alias("category"))
    table = table.join(cats, on="item_id").filter(pl.col("score") >= 1.0)
    # one fully due customer per renewable category, the longest cycles first (running shoes before gels)
    for row in renewable.sort(["median_days", "category"], descending=[True, False]).head(show).iter_rows(named=True):
        due = table.filter(pl.col("category") == row["category"]).sort("customer_id")
        if due.height == 0:
            continue
        c = due["customer_id"][0]
        print(f"\n  Customer {c}:", file=out)
        _print_recs(shop, model.recommend(Query(customer_id=c, k=2), backfill=False), out)


def demo_rules() -> list:
    """The shop's rules, as in docs/examples/sports_shop_rules.toml (a subset)."""
    return [
        Filter("stock > 0", name="in stock only"),
        OnePerGroup("category = 'child_bike'", within=730, name="no second child bike"),
        MaxPerGroup("category", 2, name="at most 2 per category"),
        Boost("eco_label", 1.2, name="eco up 20%"),
    ]


def section_rules(shop: Dataset, models: dict, out: TextIO, show: int) -> None:
    """A parent who bought a child bike is never offered another, and the audit says why."""
    ruled = models["ruled"]  # Ruled(Popularity(by="age_group"), demo_rules())
    plain_model = models["in_stock"]  # the same best sellers, in stock only
    print("== Business rules: no second child bike", file=out)
    print("  Rules: " + "; ".join(r.name for r in ruled.rules_), file=out)
    bikes = shop.interactions.join(shop.catalog.select("item_id", "category"), on="item_id").filter(pl.col("category") == "child_bike")
    parents = bikes.group_by("customer_id").agg(pl.col("timestamp").max()).sort("customer_id")["customer_id"].to_list()
    child_bikes = set(shop.catalog.filter(pl.col("category") == "child_bike")["item_id"].to_list())
    shown = 0
    for c in parents:
        q = Query(customer_id=c, k=6)
        plain = plain_model.recommend(q)
        offered = [i for i in plain.item_ids if i in child_bikes]
        if not offered or shown >= 1 or not _consents(shop, c):
            continue
        shown += 1
        bought = bikes.filter(pl.col("customer_id") == c).sort("timestamp").row(-1, named=True)
        print(f"\n  Customer {c} bought {_name(shop, bought['item_id'])} on {bought['timestamp']:%Y-%m-%d}.", file=out)
        print("  Without the child-bike rule (best sellers of the customer's age group, in stock):", file=out)
        for r in plain:
            mark = "   <-- another child bike" if r.item_id in child_bikes else ""
            print(f"    {r.rank}. {_name(shop, r.item_id)}{mark}", file=out)
        print("  With the rules:", file=out)
        for r in ruled.recommend(q):
            tags = f"  [{', '.join(r.rules)}]" if r.rules else ""
            print(f"    {r.rank}. {_name(shop, r.item_id)} -- {r.reason}{tags}", file=out)
        print(f"  Why not {_name(shop, offered[0])}? {ruled.why_not(q, offered[0])}", file=out)
    lists = [ruled.recommend(Query(customer_id=c, k=10)).item_ids for c in parents]
    n_bad = sum(len(ruled.violations(Query(customer_id=c), got)) for c, got in zip(parents, lists, strict=True))
    n_bikes = sum(len(child_bikes & set(got)) for got in lists)
    print(f"\n  All {len(parents)} customers who bought a child bike: {n_bikes} child bikes offered in their top-10 lists, "
          f"{n_bad} rule violations.", file=out)


def section_because_you_bought(shop: Dataset, models: dict, out: TextIO, show: int) -> None:
    model = models["itemknn"]  # Ruled(ItemKNN(...), the shop's rules)
    print("== Because you bought ...: item-based collaborative filtering (ItemKNN, cosine)", file=out)
    print("   ItemKNN alone under the shop's rules (customers with consent to personalisation).", file=out)
    consenting = [c for c in pick_customers(shop, 4 * show) if _consents(shop, c)]
    for c in consenting[:show]:
        print(f"\n  Customer {c}, recently bought:", file=out)
        _history_lines(shop, c, 3, out)
        _print_recs(shop, model.recommend(Query(customer_id=c, k=4, exclude_purchased=True)), out)
    item = shop.item_ids.id(int(shop.item_counts().argmax()))
    print(f"\n  Product page of the best seller {_name(shop, item)}: similar items", file=out)
    _print_recs(shop, model.recommend(Query(items=[item], k=3)), out)


def section_segments(shop: Dataset, models: dict, out: TextIO, show: int) -> None:
    from recokit.customers import rfm, segment_descriptions

    print("== Customers: RFM segments (recency, frequency, monetary scores 1-5)", file=out)
    table = rfm(shop)
    described = segment_descriptions()
    counts = table["segment"].value_counts().sort(["count", "segment"], descending=[True, False])
    for segment, n in counts.iter_rows():
        print(f"  {segment:<10} {n:>6}  {described.get(segment, '')}", file=out)
    champion = table.filter(segment="champions").head(1)
    if champion.height:
        print(f"\n  e.g. {champion['customer_id'][0]}: {champion['reason'][0]}", file=out)
    print("", file=out)


def section_contact_plan(shop: Dataset, models: dict, out: TextIO, show: int) -> None:
    from recokit.customers import KINDS, contact_plan

    on = shop.last_time.date() if shop.last_time is not None else None
    print("== Customers: this week's contact plan", file=out)
    print("   contact_plan: at most one e-mail per customer this week, the most urgent reason first,", file=out)
    print("   only to customers who accept e-mails and personalisation; products from the home pipeline.", file=out)
    plan = contact_plan(shop, on=on, recommender=models["home"], max_per_customer_days=7, consent=["consent_email", "consent_personalization"])
    counts = dict(plan["kind"].value_counts().iter_rows())
    print(f"  {plan.height} e-mails from {on}: " + ", ".join(f"{k} {counts[k]}" for k in KINDS if k in counts), file=out)
    for kind in KINDS:
        for row in plan.filter(kind=kind).head(1 if show < 3 else 2).iter_rows(named=True):
            print(f"\n  {row['customer_id']} ({kind}, {row['when']}): {row['reason']}", file=out)
            for n, item in enumerate(row["items"], 1):
                print(f"    {n}. {_name(shop, item['item_id'])} -- {item['reason']}", file=out)


SECTIONS = [
    section_customers, section_out_of_stock, section_renewal, section_rules, section_bought_together, section_because_you_bought,
    section_segments, section_contact_plan,
]


def run_demo(n_customers: int = 5000, seed: int = 0, show: int = 3, out: TextIO | None = None) -> None:
    """Build the synthetic shop, fit every model, print recommendations with reasons."""
    import sys

    from recokit.datasets import sports_shop

    out = out or sys.stdout
    t0 = time.perf_counter()
    shop = sports_shop(n_customers, seed=seed)
    print(f"recokit demo -- synthetic sports shop: {shop} (built in {time.perf_counter() - t0:.1f} s)\n", file=out)
    models: dict[str, Recommender] = {"popularity": Popularity().fit(shop)}
    models["content"] = ContentBased().fit(shop)
    in_stock = [Filter("stock > 0", name="in stock only")]
    models["renewal"] = Ruled(Renewal(), in_stock).fit(shop)
    models["ruled"] = Ruled(Popularity(by="age_group"), demo_rules()).fit(shop)
    models["in_stock"] = Ruled(Popularity(by="age_group"), in_stock).fit(shop)
    models["association"] = AssociationRules(min_support=5, min_confidence=0.1, level="category" if "category" in shop.catalog.columns else None).fit(shop)
    models["itemknn"] = Ruled(ItemKNN(similarity="cosine", k_neighbours=30, half_life_days=180), home_rules()).fit(shop)
    home = Hybrid(
        {
            "renewal": Renewal(),
            "together": AssociationRules(min_support=5, min_confidence=0.1),
            "because": ItemKNN(half_life_days=180),
            "trending": Popularity(half_life_days=30),
        },
        weights={"renewal": 2.0, "together": 1.0, "because": 1.0, "trending": 0.3},
    )
    models["home"] = Ruled(home, home_rules(), fallback=Popularity(half_life_days=30)).fit(shop)
    for section in SECTIONS:
        section(shop, models, out, show)
        print(file=out)
