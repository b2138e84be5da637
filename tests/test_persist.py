"""recokit.save / recokit.load: no pickle, a clear error for anything tampered, shared state kept.

Every model's round trip (scores, lists, reasons, params) is in the contract
(``RecommenderContract.test_save_load_round_trip``); this file tests the format itself.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recokit
from persist_files import copy_model, edit_doc, read_doc, rehash, replace_array
from recokit import (
    ALS,
    AssociationRules,
    ContentBased,
    DataError,
    Hybrid,
    ItemKNN,
    NotFittedError,
    PersistError,
    Popularity,
    Query,
    RecokitError,
    Renewal,
    Ruled,
    load,
    load_rules,
    save,
)
from recokit.rules import ExcludeOwned, Filter, Pin, RuleSet

ROOT = Path(__file__).resolve().parents[1]


_doc = read_doc


def _write_doc(path: Path, doc: dict) -> None:
    """Replace model.json by ``doc`` and re-hash the manifest: the checks behind the hash are under test."""
    edit_doc(path, lambda d: (d.clear(), d.update(doc)))


def _same_lists(a: Ruled | recokit.Recommender, b, queries) -> None:
    for q in queries:
        want, got = a.recommend(q), b.recommend(q)
        assert got.item_ids == want.item_ids
        assert np.array_equal(got.scores, want.scores, equal_nan=True)
        assert [(r.reason, r.rules) for r in got] == [(r.reason, r.rules) for r in want]


@pytest.fixture(scope="module")
def knn_dir(shop, tmp_path_factory):
    """A saved ItemKNN (it holds object arrays of names and a sparse similarity)."""
    return save(ItemKNN(k_neighbours=15).fit(shop), tmp_path_factory.mktemp("knn") / "model")


# -- no pickle, nothing executed -----------------------------------------------------------------
def test_persist_module_never_pickles_nor_executes():
    files = sorted((ROOT / "src" / "recokit" / "persist").glob("*.py"))
    assert len(files) >= 4  # the package's modules (codec, registry, store, ...), not an empty glob
    source = "\n".join(f.read_text() for f in files)
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(r"\bimport\s+(pickle|cPickle|dill|joblib|marshal|shelve|importlib)\b", code)
    assert not re.search(r"\bfrom\s+(pickle|dill|joblib|marshal|shelve|importlib)\b", code)
    assert not re.search(r"\b(eval|exec|__import__|import_module)\s*\(", code)
    assert "allow_pickle=True" not in code


def test_every_saved_array_loads_without_pickle(knn_dir):
    arrays = [np.load(f, allow_pickle=False) for f in sorted((knn_dir / "arrays").iterdir())]  # raises on any object array
    assert arrays and all(a.dtype != object for a in arrays)
    json.loads((knn_dir / "model.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert all(p.suffix == ".parquet" for p in (knn_dir / "frames").iterdir())


def test_object_arrays_come_back_as_object_arrays(shop, knn_dir):
    loaded = load(knn_dir)
    assert loaded.names_.dtype == object and isinstance(loaded.names_[0], str)
    assert loaded.because_.tolist() == ItemKNN(k_neighbours=15).fit(shop).because_.tolist()


# -- tampered files ------------------------------------------------------------------------------
def _copy(src: Path, tmp_path: Path) -> Path:
    return copy_model(src, tmp_path / "copy")


def test_unknown_model_class_is_refused(knn_dir, tmp_path):
    path = _copy(knn_dir, tmp_path)
    doc = _doc(path)
    doc["models"][0]["class"] = "os.system"
    _write_doc(path, doc)
    with pytest.raises(PersistError, match=r"unknown model class 'os.system'"):
        load(path)


def test_unknown_value_type_and_dataclass_are_refused(shop, tmp_path):
    model = Ruled(Popularity(), [Filter("stock > 0", name="in stock")]).fit(shop)
    path = save(model, tmp_path / "m")
    text = (path / "model.json").read_text()
    (path / "model.json").write_text(text.replace('"class": "Filter"', '"class": "subprocess.Popen"'))
    rehash(path)
    with pytest.raises(PersistError, match="unknown class 'subprocess.Popen'"):
        load(path)
    (path / "model.json").write_text(text.replace('"$": "ndarray"', '"$": "__reduce__"', 1))
    rehash(path)
    with pytest.raises(PersistError, match="unknown value type '__reduce__'"):
        load(path)


@pytest.mark.parametrize("version", [0, 1, 3, "2", None, True])
def test_other_format_versions_are_refused(knn_dir, tmp_path, version):
    path = _copy(knn_dir, tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format_version"] = version
    (path / "manifest.json").write_text(json.dumps(manifest))
    hint = "upgrade recokit" if version == 3 else "refit the model and save it again"
    with pytest.raises(PersistError, match=rf"saved in model format version {re.escape(repr(version))}(.|\n)*Hint: {hint}"):
        load(path)


def test_model_json_must_agree_with_the_manifest_on_the_version(knn_dir, tmp_path):
    path = _copy(knn_dir, tmp_path)
    edit_doc(path, lambda d: d.update(format_version=3))
    with pytest.raises(PersistError, match=r"model\.json: format version 3, the manifest says 2"):
        load(path)


def test_a_format_1_directory_says_so(tmp_path):
    (tmp_path / "model.json").write_text('{"format": "recokit-model", "format_version": 1}')
    (tmp_path / "arrays.npz").write_bytes(b"PK")
    with pytest.raises(PersistError, match=r"format version 1 \(no manifest\.json\)(.|\n)*Hint: refit the model"):
        load(tmp_path)


def test_undeclared_array_is_named(knn_dir, tmp_path):
    path = _copy(knn_dir, tmp_path)
    key = _doc(path)["models"][0]["state"]["similarity_"]["parts"]["indices"]
    edit_doc(path, lambda d: d["arrays"].pop(key))
    with pytest.raises(PersistError, match=rf"model\.json: declares other files than the manifest lists: missing \[\], undeclared \['arrays/{key}\.npy'\]"):
        load(path)


def test_missing_array_is_named(knn_dir, tmp_path):
    path = _copy(knn_dir, tmp_path)
    key = _doc(path)["models"][0]["state"]["similarity_"]["parts"]["indices"]
    (path / "arrays" / f"{key}.npy").unlink()
    edit_doc(path, lambda d: d["arrays"].pop(key))
    with pytest.raises(PersistError, match=rf"similarity_\.indices: no array '{key}' is declared"):
        load(path)


def test_missing_frame_file_is_named(knn_dir, tmp_path):
    path = _copy(knn_dir, tmp_path)
    interactions = _doc(path)["datasets"][0]["interactions"]["file"]
    (path / interactions).unlink()
    edit_doc(path, lambda d: d["frames"].pop(interactions))
    with pytest.raises(PersistError, match=f"interactions: no frame file '{interactions}' is declared"):
        load(path)


def test_frame_file_outside_the_model_is_refused(knn_dir, tmp_path):
    path = _copy(knn_dir, tmp_path)
    doc = _doc(path)
    doc["datasets"][0]["catalog"]["file"] = "frames/../../elsewhere.parquet"
    _write_doc(path, doc)
    with pytest.raises(PersistError, match="no frame file 'frames/../../elsewhere.parquet' is declared"):
        load(path)


def test_pickled_array_is_refused(knn_dir, tmp_path):
    path = _copy(knn_dir, tmp_path)
    key = _doc(path)["models"][0]["state"]["item_counts_"]["key"]
    replace_array(path, key, np.array([{"evil": 1}, None], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        np.load(path / "arrays" / f"{key}.npy", allow_pickle=False)  # the planted array really is a pickle
    with pytest.raises(PersistError, match=rf"arrays/{key}\.npy: arrays of dtype '\|O' are not loaded"):
        load(path)


def test_tampered_dataset_and_attribute_names_are_refused(knn_dir, tmp_path):
    path = _copy(knn_dir, tmp_path)
    original = _doc(path)
    doc = json.loads(json.dumps(original))
    doc["datasets"][0]["interactions"] = 3
    _write_doc(path, doc)
    with pytest.raises(PersistError, match=r"dataset 0\.interactions: expected DataFrame; got int"):
        load(path)
    doc = json.loads(json.dumps(original))
    doc["datasets"][0]["__class__"] = None
    _write_doc(path, doc)
    with pytest.raises(PersistError, match="dataset 0: expected the attributes"):
        load(path)
    doc = json.loads(json.dumps(original))
    doc["models"][0]["state"]["__class__"] = "Popularity"
    _write_doc(path, doc)
    with pytest.raises(PersistError, match="bad attribute name"):
        load(path)
    doc = json.loads(json.dumps(original))
    doc["models"][0]["params"]["no_such_param"] = 1
    _write_doc(path, doc)
    with pytest.raises(PersistError, match="do not fit ItemKNN.*no_such_param"):
        load(path)


def test_not_a_saved_model(tmp_path, knn_dir):
    with pytest.raises(PersistError, match="no such directory"):
        load(tmp_path / "nothing here")
    with pytest.raises(PersistError, match=r"not a saved recokit model \(no manifest\.json in it\)"):
        load(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(PersistError, match=r"manifest\.json: not valid JSON"):
        load(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "something-else"}')
    with pytest.raises(PersistError, match="not a recokit model manifest"):
        load(tmp_path)
    path = _copy(knn_dir, tmp_path)
    (path / "model.json").write_text("{not json")
    rehash(path)
    with pytest.raises(PersistError, match=r"model\.json: not valid JSON"):
        load(path)
    (path / "model.json").write_text('{"format": "something-else"}')
    rehash(path)
    with pytest.raises(PersistError, match="not a recokit model file"):
        load(path)


def test_persist_error_is_its_own_branch_of_the_error_tree():
    assert issubclass(PersistError, RecokitError) and not issubclass(PersistError, DataError)


# -- saving --------------------------------------------------------------------------------------
def test_saving_an_unfitted_model_raises(tmp_path):
    with pytest.raises(NotFittedError, match="not fitted"):
        save(Popularity(), tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_unsupported_attribute_is_named_and_nothing_is_left_behind(shop, tmp_path):
    model = Popularity().fit(shop)
    model.cache_ = object()
    with pytest.raises(PersistError, match=r"Popularity\.cache_: .*builtins\.object"):
        save(model, tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def test_a_parameter_not_stored_on_the_instance_is_refused(shop, tmp_path):
    model = Popularity(by="category").fit(shop)
    del model.by  # load would silently rebuild it with the default (implicit's BM25 K1/B trap)
    with pytest.raises(PersistError, match=r"parameter\(s\) \['by'\] of Popularity"):
        save(model, tmp_path / "m")


def test_a_model_outside_recokit_is_refused(shop, tmp_path):
    class Mine(Popularity):
        pass

    with pytest.raises(PersistError, match="not one of recokit's models"):
        save(Mine().fit(shop), tmp_path / "m")


def test_overwrite(shop, tmp_path):
    a, b = Popularity().fit(shop), Popularity(by="category").fit(shop)
    path = save(a, tmp_path / "m")
    with pytest.raises(PersistError, match="already exists"):
        save(b, path)
    save(b, path, overwrite=True)
    assert load(path).get_params() == b.get_params()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temporary directory left
    other = tmp_path / "not-a-model"
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    with pytest.raises(PersistError, match="not a saved recokit model; refusing"):
        save(a, other, overwrite=True)
    assert (other / "precious.txt").read_text() == "keep me"



def test_save_never_replaces_a_symbolic_link(shop, tmp_path):
    a = Popularity().fit(shop)
    real = save(a, tmp_path / "v1")
    link = tmp_path / "current"
    link.symlink_to(real, target_is_directory=True)
    for overwrite in (False, True):
        with pytest.raises(PersistError, match="is a symbolic link; recokit neither follows nor replaces links"):
            save(a, link, overwrite=overwrite)
    assert link.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["current", "v1"]


# -- shared state --------------------------------------------------------------------------------
def test_dataset_is_stored_once_for_a_hybrid(shop, tmp_path):
    hybrid = Hybrid({"rules": AssociationRules(), "content": ContentBased(), "best": Popularity()}).fit(shop)
    path = save(hybrid, tmp_path / "m")
    doc = _doc(path)
    assert len(doc["datasets"]) == 1
    # the hybrid, its three configured (unfitted) models, and the three fitted copies it serves with
    fitted = [m["class"] for m in doc["models"] if m["state"] is not None]
    configured = [m["class"] for m in doc["models"] if m["state"] is None]
    assert fitted == ["Hybrid", "AssociationRules", "ContentBased", "Popularity"]
    assert configured == ["AssociationRules", "ContentBased", "Popularity"]
    n_frames = len(list((path / "frames").iterdir()))
    single = save(Popularity().fit(shop), tmp_path / "single")
    # the hybrid's files: one dataset (as many frames as one model's) plus the rules table
    assert n_frames == len(list((single / "frames").iterdir())) + 1
    loaded = load(path)
    assert all(c.dataset_ is loaded.dataset_ for c in loaded.components_)
    # the params are the configured models, unfitted; the fitted copies are the components
    assert not any(m.is_fitted for m in loaded.models.values())
    assert [m.get_params() for m in loaded.models.values()] == [c.get_params() for c in loaded.components_]


def test_dataset_round_trip(shop, knn_dir):
    ds = load(knn_dir).dataset_
    assert ds.interactions.equals(shop.interactions)
    assert ds.catalog.equals(shop.catalog)
    assert ds.customers.equals(shop.customers)
    assert ds.item_ids == shop.item_ids and ds.customer_ids == shop.customer_ids
    assert ds.item_ids.name == "item" and ds.customer_ids.name == "customer"
    assert ds.columns == shop.columns
    assert np.array_equal(ds.basket_customer_idx, shop.basket_customer_idx)
    assert np.array_equal(ds.basket_time, shop.basket_time) and ds.basket_time.dtype == shop.basket_time.dtype
    assert (ds.user_items != shop.user_items).nnz == 0 and (ds.basket_items != shop.basket_items).nnz == 0
    assert ds.last_time == shop.last_time


def test_ruled_hybrid_with_every_rule_kind_round_trips(shop, tmp_path):
    rules = load_rules(ROOT / "docs" / "examples" / "sports_shop_rules.toml", shop)
    pinned = shop.catalog["item_id"][3]
    extra = RuleSet([*rules, Pin([pinned], position=2, name="promo"), ExcludeOwned(match="consumable", renew_after=dt.timedelta(days=30), name="gels monthly")])
    model = Ruled(
        Hybrid({"renewal": Renewal(), "together": AssociationRules(), "because": ItemKNN(half_life_days=180)}, method="cascade"),
        extra,
        fallback=Popularity(half_life_days=30),
    ).fit(shop)
    loaded = load(save(model, tmp_path / "m"))
    assert [r for r in loaded.rules_] == [r for r in model.rules_]
    assert len(_doc(tmp_path / "m")["datasets"]) == 1
    assert loaded.model_.components_[0].dataset_ is loaded.dataset_ is loaded.fallback_.dataset_ is loaded.rules_.dataset_
    customers = shop.customer_ids.to_list()[::60]
    queries = [Query(customer_id=c, k=10) for c in customers] + [Query(items=[pinned], k=6), Query(k=5)]
    _same_lists(model, loaded, queries)
    for c in customers[:3]:
        q = Query(customer_id=c, k=5)
        for item in shop.item_ids.to_list()[:15]:
            assert loaded.why_not(q, item) == model.why_not(q, item)


def test_rule_set_settings_are_kept(tmp_path):
    orders = pl.DataFrame(
        {
            "customer_id": [1, 1, 2, 2, 3, 3],
            "item_id": ["tent", "stove", "tent", "mat", "stove", "mat"],
            "event": ["order", "view", "order", "order", "view", "order"],
        }
    )
    ds = recokit.Dataset(orders, event_col="event", event_weights={"order": 1.0, "view": 0.1})
    model = Ruled(Popularity(), RuleSet([ExcludeOwned(name="once")], purchase_event="order")).fit(ds)
    loaded = load(save(model, tmp_path / "m"))
    assert loaded.rules_.purchase_event == "order" and loaded.get_params()["rules"].purchase_event == "order"
    # customer 1 ordered the tent (excluded) and only viewed the stove (allowed)
    assert loaded.recommend(customer_id=1, k=3).item_ids == model.recommend(customer_id=1, k=3).item_ids
    assert "tent" not in loaded.recommend(customer_id=1, k=3).item_ids
    assert "stove" in loaded.recommend(customer_id=1, k=3).item_ids


def test_refreshed_ruled_keeps_its_refreshed_catalogue(shop, tmp_path):
    model = Ruled(Popularity(), [Filter("stock > 0", name="in stock")]).fit(shop)
    first5 = shop.catalog["item_id"][:5].to_list()
    model.refresh(shop.catalog.with_columns(stock=pl.when(pl.col("item_id").is_in(first5)).then(3).otherwise(0).cast(pl.Int64)))
    loaded = load(save(model, tmp_path / "m"))
    assert len(_doc(tmp_path / "m")["datasets"]) == 2  # the fitted data and the refreshed catalogue
    assert loaded.recommend(k=10).item_ids == model.recommend(k=10).item_ids
    assert set(loaded.recommend(k=10).item_ids) == set(first5)


def test_loaded_model_can_be_refitted(shop, tmp_path):
    params = {"factors": 6, "iterations": 2, "random_state": 3}
    small = shop.filter(pl.col("customer_idx") < 300)
    loaded = load(save(ALS(**params).fit(small), tmp_path / "m"))
    loaded.fit(shop)
    fresh = ALS(**params).fit(shop)
    for c in shop.customer_ids.to_list()[::100]:
        assert np.array_equal(loaded.score(customer_id=c), fresh.score(customer_id=c), equal_nan=True)
    cart = shop.item_ids.to_list()[:2]
    assert np.array_equal(loaded.score(items=cart), fresh.score(items=cart), equal_nan=True)


def test_loads_in_a_fresh_process(shop, tmp_path):
    model = Hybrid([ContentBased(), ALS(factors=6, iterations=2)]).fit(shop)
    path = save(model, tmp_path / "m")
    customer, item = shop.customer_ids.to_list()[7], shop.item_ids.to_list()[3]
    script = (
        "import json, sys; import recokit; m = recokit.load(sys.argv[1]);"
        f"a = m.recommend(customer_id={customer!r}, k=6); b = m.recommend(items=[{item!r}], k=6);"
        "print(json.dumps([[r.item_id, r.reason] for r in [*a, *b]]))"
    )
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, env=env, check=True, timeout=120)
    want = [[r.item_id, r.reason] for r in [*model.recommend(customer_id=customer, k=6), *model.recommend(items=[item], k=6)]]
    assert json.loads(out.stdout) == want


# -- the value codec -----------------------------------------------------------------------------
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.datetimes(),
    st.dates(),
    st.timedeltas(),
    st.integers(-1000, 1000).map(np.int64),
    st.floats(width=32).map(np.float32),
    st.integers(-(10**15), 10**15).map(lambda us: np.datetime64(us, "us")),
    st.integers(-(10**6), 10**6).map(lambda s: np.timedelta64(s, "s")),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=5), st.integers(-5, 5)), inner, max_size=4),
        st.frozensets(st.one_of(st.text(max_size=5), st.integers(-5, 5)), max_size=4),
        st.lists(st.one_of(st.text(max_size=4), st.none()), max_size=4).map(lambda x: np.array(x, dtype=object)),
    ),
    max_leaves=12,
)


def _identical(a, b) -> bool:
    """Equal and of the same type all the way down (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and all(_identical(x, y) for x, y in zip(a.tolist(), b.tolist(), strict=True))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_identical(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_identical(a[k], b[k]) for k in a)
    if isinstance(a, (float, np.floating)) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, (np.datetime64, np.timedelta64)):
        return a.dtype == b.dtype and a == b
    return a == b


@pytest.fixture(scope="module")
def tiny_model(shop):
    return Popularity().fit(shop.filter(pl.col("customer_idx") < 50))


@settings(max_examples=40)
@given(value=_values)
def test_any_supported_value_round_trips_exactly(tiny_model, tmp_path_factory, value):
    tiny_model.extra_ = value
    try:
        loaded = load(save(tiny_model, tmp_path_factory.mktemp("v") / "m"))
    finally:
        del tiny_model.extra_
    assert _identical(loaded.extra_, value)


def test_public_names():
    assert recokit.save is save and recokit.load is load
    assert {"save", "load", "PersistError"} <= set(recokit.__all__)
