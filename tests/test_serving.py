"""docs/serving.md's FastAPI app, run as written (its code blocks, in order) through FastAPI's
TestClient: the three pages answer what the model answers, under the shop's rules, from many
threads at once."""

from __future__ import annotations

import re
import sys
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient  # fastapi and httpx are in the dev extra

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "serving.md"


@pytest.fixture(scope="module")
def served(monkeypatch_module):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    module = types.ModuleType("served_app")
    sys.modules["served_app"] = module  # pydantic resolves the Cart model's annotations in it
    monkeypatch_module.chdir(ROOT)
    for code in blocks:
        exec(compile(code, str(DOC), "exec", dont_inherit=True), module.__dict__)  # the project's own docs
    yield module, TestClient(module.app)
    sys.modules.pop("served_app", None)


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _ids(payload):
    return [row["item_id"] for row in payload]


def test_the_product_page_answers_what_the_model_does_for_an_anonymous_visitor(served):
    app, client = served
    shop = app.shop
    bike = shop.catalog.filter(category="adult_bike")["item_id"][0]
    got = client.get(f"/product/{bike}", params={"k": 4})
    assert got.status_code == 200
    want = app.model.recommend(items=[bike], k=4)
    assert got.json() == [{"item_id": r.item_id, "reason": r.reason} for r in want]
    assert bike not in _ids(got.json())
    in_stock = set(shop.catalog.filter(pl.col("stock") > 0)["item_id"].to_list())
    assert set(_ids(got.json())) <= in_stock  # the rules file's filter, checked on the catalogue


def test_the_cart_never_offers_what_is_in_it(served):
    app, client = served
    shop = app.shop
    customer = shop.customer_ids.id(5)
    basket = shop.interactions.filter(pl.col("customer_id") == customer)["item_id"].unique().sort().head(2).to_list()
    assert len(basket) == 2
    got = client.post("/cart", json={"items": basket, "customer_id": customer}, params={"k": 5})
    assert got.status_code == 200
    assert not set(_ids(got.json())) & set(basket)
    assert _ids(got.json()) == [r.item_id for r in app.model.recommend(customer_id=customer, items=basket, k=5)]


def test_the_home_page_of_a_known_customer_excludes_what_they_bought(served):
    app, client = served
    shop = app.shop
    customer = shop.customer_ids.id(11)
    got = client.get(f"/home/{customer}", params={"k": 6})
    assert got.status_code == 200 and len(got.json()) == 6
    bought = set(shop.interactions.filter(pl.col("customer_id") == customer)["item_id"].to_list())
    assert not set(_ids(got.json())) & bought
    assert all(row["reason"] for row in got.json())


def test_mistakes_are_4xx_with_a_message_not_500(served):
    _, client = served
    unknown = client.get("/product/NO-SUCH-PRODUCT")
    assert unknown.status_code == 404 and "NO-SUCH-PRODUCT" in unknown.json()["detail"]
    bad_k = client.get("/home/C000001", params={"k": 0})
    assert bad_k.status_code == 400 and "k must be" in bad_k.json()["error"]


def test_eight_threads_get_the_answers_of_one_by_one_requests(served):
    app, client = served
    shop = app.shop
    paths = [f"/home/{shop.customer_ids.id(i)}" for i in range(0, 400, 7)]
    alone = [client.get(p).json() for p in paths]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda p: client.get(p).json(), paths * 2))
    assert together == alone * 2
