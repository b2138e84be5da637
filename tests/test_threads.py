"""One fitted model shared by many threads gives each the answers it gives alone; an update built
on a copy leaves the served model untouched (docs/operations.md)."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from recokit import AssociationRules, ContentBased, Dataset, Hybrid, ItemKNN, Popularity, Ruled
from recokit.rules import Filter
from recokit.testing import fingerprint

THREADS = 8


def served(shop) -> Ruled:
    parts = {"knn": ItemKNN("cosine", 20, num_threads=1), "rules": AssociationRules(min_support=2), "content": ContentBased(), "pop": Popularity()}
    return Ruled(Hybrid(parts), [Filter("stock > 0", name="in stock")]).fit(shop)


def test_eight_threads_get_the_answers_of_one(shop):
    model = served(shop)
    people = shop.customer_ids.to_list()[:160]
    items = shop.item_ids.to_list()
    jobs = [(people[i::THREADS], items[i * 7 : i * 7 + 2]) for i in range(THREADS)]

    def work(job):
        customers, cart = job
        return (
            model.recommend_many(customers, k=5, exclude_purchased=True),
            [(r.item_id, r.reason, r.rules) for r in model.recommend(customer_id=customers[0], items=cart, k=5)],
        )

    alone = [work(job) for job in jobs]
    before = fingerprint(model)
    for _ in range(2):
        with ThreadPoolExecutor(THREADS) as pool:
            together = list(pool.map(work, jobs * 2))
        for (frame, recs), (want_frame, want_recs) in zip(together, alone * 2, strict=True):
            assert frame.equals(want_frame) and recs == want_recs
    assert fingerprint(model) == before  # requests never wrote to the shared model


def test_an_update_on_a_copy_leaves_the_served_model_as_it_was(shop):
    model = served(shop)
    before = fingerprint(model)
    raw = shop.interactions.select("customer_id", "item_id", "timestamp", "quantity", pl.col("basket_idx").alias("order_id")).head(40)
    new = Dataset(raw.with_columns(pl.lit("NEW-CUSTOMER").alias("customer_id")), shop.catalog, time_col="timestamp", basket_col="order_id", quantity_col="quantity")
    updated = copy.copy(model).partial_fit(new).forget([shop.customer_ids.to_list()[0]])
    assert fingerprint(model) == before
    assert "NEW-CUSTOMER" in updated.dataset_.customer_ids and "NEW-CUSTOMER" not in model.dataset_.customer_ids
