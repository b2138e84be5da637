"""The declared parameter spec (recokit.params): constraints, get/set_params, clone, validation."""

from __future__ import annotations

import copy
import json
import math
import numbers
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persist_files import rehash
from recokit import (
    ALS,
    BPR,
    AssociationRules,
    ConfigError,
    ContentBased,
    ItemKNN,
    PersistError,
    Popularity,
    Renewal,
    load,
    save,
)
from recokit.params import (
    Boolean,
    Configurable,
    Custom,
    InstanceOf,
    Interval,
    OneOf,
    Optional,
    param,
    params_table,
)

MODELS = [ALS, BPR, AssociationRules, ContentBased, ItemKNN, Popularity, Renewal]
IDS = [c.__name__ for c in MODELS]

# -- valid values, drawn from each declared constraint ----------------------------------------
#: the few parameters whose constraint is a Custom predicate: a strategy of valid values for each
CUSTOM_VALUES = {
    (AssociationRules, "min_support"): st.one_of(st.integers(1, 10**6), st.floats(0, 1, exclude_min=True)),
    (AssociationRules, "rejected"): st.one_of(st.none(), st.text(min_size=1), st.lists(st.tuples(st.text(), st.text()), max_size=3)),
    (AssociationRules, "approved"): st.one_of(st.none(), st.lists(st.tuples(st.text(), st.text()), max_size=3)),
    (ContentBased, "columns"): st.one_of(st.none(), st.lists(st.text(min_size=1), max_size=3), st.dictionaries(st.text(min_size=1), st.floats(0, 10), max_size=3)),
    (ContentBased, "text_columns"): st.one_of(st.none(), st.lists(st.text(min_size=1), max_size=3)),
    (ContentBased, "declared_mapping"): st.one_of(st.none(), st.dictionaries(st.text(min_size=1), st.text(min_size=1), max_size=3)),
}


def _interval_values(c: Interval) -> st.SearchStrategy:
    if c.kind is int:
        lo = None if c.low is None else math.floor(c.low) + 1 if c.low_open or c.low != math.floor(c.low) else int(c.low)
        hi = None if c.high is None else math.ceil(c.high) - 1 if c.high_open or c.high != math.ceil(c.high) else int(c.high)
        return st.integers(lo, hi if hi is not None else (lo or 0) + 10**6)
    return st.floats(c.low, c.high, exclude_min=c.low_open, exclude_max=c.high_open, allow_nan=False, allow_infinity=False)


def valid_values(cls: type, name: str, check) -> st.SearchStrategy:
    if (cls, name) in CUSTOM_VALUES:
        return CUSTOM_VALUES[(cls, name)]
    if isinstance(check, Optional):
        return st.one_of(st.none(), valid_values(cls, name, check.inner))
    if isinstance(check, Interval):
        return _interval_values(check)
    if isinstance(check, OneOf):
        return st.sampled_from(check.values)
    if isinstance(check, Boolean):
        return st.booleans()
    if isinstance(check, InstanceOf) and check.types == (str,):
        return st.text()
    raise AssertionError(f"no strategy for {cls.__name__}.{name}: {check!r}")  # a new kind of constraint: teach the test


@st.composite
def configs(draw, cls: type) -> dict:
    """A valid configuration of ``cls``: a random subset of its parameters, each a drawn valid value."""
    out = {}
    for p in cls.param_spec():
        if draw(st.booleans()):
            out[p.name] = draw(valid_values(cls, p.name, p.check))
    if cls is AssociationRules:  # the rules across parameters (AssociationRules._check_together)
        if out.get("approved_only") and out.get("approved") is None:
            out["approved"] = [("a", "b")]
        if out.get("approved_only"):
            out.pop("level", None), out.pop("level_scores", None)
        elif out.get("level_scores") and out.get("level") is None:
            out["level"] = "category"
    return out


# -- get_params / set_params / clone -----------------------------------------------------------
@pytest.mark.parametrize("cls", MODELS, ids=IDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_clone_and_set_params_round_trip_the_params(cls, data):
    given_params = data.draw(configs(cls))
    model = cls(**given_params)
    params = model.get_params()
    assert [p.name for p in cls.param_spec()] == list(params)
    assert {k: params[k] for k in given_params} == given_params  # stored as given
    clone = model.clone()
    assert type(clone) is cls and clone is not model and clone.get_params() == params
    again = cls().set_params(**params)
    assert again.get_params() == params
    assert repr(again) == repr(model)


@pytest.mark.parametrize("cls", MODELS, ids=IDS)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_a_bad_value_in_set_params_changes_nothing(cls, data):
    model = cls(**data.draw(configs(cls)))
    before = dict(model.get_params())
    checked = [p.name for p in cls.param_spec() if p.check is not None]
    bad_name = data.draw(st.sampled_from(checked))
    change = data.draw(configs(cls))
    change.pop(bad_name, None)
    change[bad_name] = object()  # no constraint of a model accepts a bare object
    with pytest.raises(ConfigError, match=f"'{bad_name}' parameter of {cls.__name__}"):
        model.set_params(**change)
    after = model.get_params()
    assert after == before and all(after[k] is before[k] for k in before)


@pytest.mark.parametrize("cls", MODELS, ids=IDS)
def test_an_unknown_key_lists_the_known_ones(cls):
    model = cls()
    with pytest.raises(ConfigError, match="no parameter 'bogus'") as info:
        model.set_params(bogus=1)
    names = [p.name for p in cls.param_spec()]
    assert all(n in str(info.value) for n in names)
    assert "bogus" not in vars(model)
    with pytest.raises(TypeError):  # the constructor: Python's own check
        cls(bogus=1)


def test_positional_parameters_stay_where_they_were():
    assert ItemKNN("bm25", 7).get_params()["k_neighbours"] == 7
    assert ALS(8, 0.5, 2.0).get_params() == ALS(factors=8, regularization=0.5, alpha=2.0).get_params()
    assert BPR(8, 0.5).learning_rate == 0.5
    with pytest.raises(TypeError):
        Popularity(30)  # keyword-only, as before


# -- validation everywhere -------------------------------------------------------------------------
#: one invalid value per model, and the message it must give
BAD = {
    ALS: ("factors", 0, "The 'factors' parameter of ALS must be an int >= 1. Got 0 instead."),
    BPR: ("learning_rate", 0.0, "The 'learning_rate' parameter of BPR must be a number > 0. Got 0.0 instead."),
    AssociationRules: ("min_confidence", 1.5, "The 'min_confidence' parameter of AssociationRules must be a number in [0, 1]. Got 1.5 instead."),
    ContentBased: ("max_levels", True, "The 'max_levels' parameter of ContentBased must be an int >= 1. Got True instead."),
    ItemKNN: ("k_neighbours", 0, "The 'k_neighbours' parameter of ItemKNN must be an int >= 1. Got 0 instead."),
    Popularity: ("window_days", float("nan"), "The 'window_days' parameter of Popularity must be a number > 0 or None. Got nan instead."),
    Renewal: ("prefer_previous", "yes", "The 'prefer_previous' parameter of Renewal must be a bool (True or False). Got 'yes' instead."),
}


@pytest.mark.parametrize("cls", MODELS, ids=IDS)
def test_one_check_at_construction_set_params_and_fit(cls, shop):
    name, value, message = BAD[cls]
    with pytest.raises(ConfigError, match=re.escape(message)):
        cls(**{name: value})
    with pytest.raises(ConfigError, match=re.escape(message)):
        cls().set_params(**{name: value})
    model = cls()
    setattr(model, name, value)  # set behind the spec's back: fit still refuses it
    with pytest.raises(ConfigError, match=re.escape(message)):
        model.fit(shop)


FAST = {ALS: {"factors": 4, "iterations": 2, "num_threads": 1}, BPR: {"factors": 4, "iterations": 2}}


@pytest.mark.parametrize("cls", MODELS, ids=IDS)
def test_fit_does_not_change_the_params(cls, shop):
    extra = {"columns": ["category", "sport"], "declared_mapping": {"declared_sports": "sport"}} if cls is ContentBased else {}
    model = cls(**FAST.get(cls, {}), **extra)
    before = copy.deepcopy(model.get_params())
    ids = {k: id(v) for k, v in model.get_params().items()}
    model.fit(shop)
    assert model.get_params() == before
    assert {k: id(v) for k, v in model.get_params().items()} == ids


def test_a_saved_model_with_a_bad_parameter_does_not_load(shop, tmp_path):
    path = save(Popularity(window_days=30).fit(shop), tmp_path / "m")
    doc = json.loads((path / "model.json").read_text())
    doc["models"][doc["root"]]["params"]["window_days"] = -1
    (path / "model.json").write_text(json.dumps(doc))
    rehash(path)  # a manifest agreeing with the edit: the parameter check is under test, not the hash
    with pytest.raises(PersistError, match=r"Popularity.*'window_days' parameter of Popularity must be a number > 0 or None\. Got -1"):
        load(path)
    doc["models"][doc["root"]]["params"] = {"window_days": 30, "k_neighbours": 3}
    (path / "model.json").write_text(json.dumps(doc))
    rehash(path)
    missing = [p for p in Popularity.param_names() if p != "window_days"]  # every parameter but the one kept
    with pytest.raises(PersistError, match=re.escape(f"unknown parameter(s) ['k_neighbours']; missing parameter(s) {missing}")):
        load(path)


# -- the constraints against plain-Python reference predicates -----------------------------------
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(-1e6, 1e6),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.text(max_size=3),
    st.integers(-100, 100).map(np.int64),
    st.floats(-100, 100, width=32).map(np.float32),
    st.booleans().map(np.bool_),
    st.lists(st.integers(), max_size=2),
)
BOUND = st.one_of(st.none(), st.integers(-5, 5), st.floats(-5, 5, allow_nan=False))


def ref_interval(kind, low, high, low_open, high_open, v) -> bool:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        return False
    if kind is int and not isinstance(v, numbers.Integral):
        return False
    x = float(v)
    if x != x or x in (math.inf, -math.inf):
        return False
    above = low is None or (v > low if low_open else v >= low)
    below = high is None or (v < high if high_open else v <= high)
    return above and below


def _verdict(check, v) -> str | None:
    try:
        check.check("Toy", "p", v)
    except ConfigError as exc:
        return str(exc)
    return None


@settings(max_examples=400)
@given(kind=st.sampled_from([int, float]), low=BOUND, high=BOUND, low_open=st.booleans(), high_open=st.booleans(), v=ANY_VALUE)
def test_interval_matches_the_reference(kind, low, high, low_open, high_open, v):
    c = Interval(kind, low=low, high=high, low_open=low_open, high_open=high_open)
    error = _verdict(c, v)
    assert (error is None) == ref_interval(kind, low, high, low_open, high_open, v)
    if error is not None:
        assert error == f"The 'p' parameter of Toy must be {c.describe()}. Got {v!r} instead."


@given(values=st.lists(st.one_of(st.text(max_size=2), st.integers(-3, 3), st.booleans(), st.none()), min_size=1, max_size=4), v=ANY_VALUE)
def test_one_of_matches_the_reference(values, v):
    error = _verdict(OneOf(*values), v)
    assert (error is None) == (repr(v) in {repr(x) for x in values})  # True is not 1, 1.0 is not 1


@given(types=st.lists(st.sampled_from([int, float, str, bool, list, np.integer]), min_size=1, max_size=3, unique=True), v=ANY_VALUE)
def test_instance_of_matches_the_reference(types, v):
    is_bool = type(v) is bool
    expected = any(t in type(v).__mro__ for t in types) and (not is_bool or bool in types)
    assert (_verdict(InstanceOf(*types), v) is None) == expected


@given(v=ANY_VALUE)
def test_boolean_and_optional_match_the_reference(v):
    assert (_verdict(Boolean(), v) is None) == (type(v) in (bool, np.bool_))
    inner = Interval(int, low=2)
    expected = v is None or ref_interval(int, 2, None, False, False, v)
    error = _verdict(Optional(inner), v)
    assert (error is None) == expected
    if error is not None:
        assert "must be an int >= 2 or None." in error


@given(v=ANY_VALUE)
def test_custom_uses_its_predicate_and_description(v):
    def short_text(x) -> bool:
        return isinstance(x, str) and len(x) <= 1

    error = _verdict(Custom(short_text, "a text of at most one character"), v)
    assert (error is None) == short_text(v)
    if error is not None:
        assert error == f"The 'p' parameter of Toy must be a text of at most one character. Got {v!r} instead."


# -- declaring classes --------------------------------------------------------------------------------
def test_an_annotation_that_is_not_a_param_is_refused():
    with pytest.raises(TypeError, match=r"Bad\.size is annotated but not declared with param\(\)"):

        class Bad(Configurable):
            size: int = 3


def test_a_mutable_default_is_refused():
    with pytest.raises(TypeError, match="mutable"):
        param(default={})


class Leaf(Configurable):
    n: int = param(default=1, check=Interval(int, low=0), doc="A count.")


class Tree(Configurable):
    children: tuple = param(default=(), doc="Sub-trees.")
    leaf: Leaf | None = param(default=None, doc="A leaf.")


def test_clone_is_recursive_for_nested_configurables():
    tree = Tree(children=(Leaf(n=2), [Leaf(n=3)], {"x": Leaf(n=4)}), leaf=Leaf(n=5))
    twin = tree.clone()
    a, b = tree.get_params(), twin.get_params()
    assert b["leaf"] is not a["leaf"] and b["leaf"].n == 5
    assert b["children"][0] is not a["children"][0] and b["children"][0].n == 2
    assert b["children"][1][0] is not a["children"][1][0] and b["children"][1][0].n == 3
    assert b["children"][2]["x"] is not a["children"][2]["x"] and b["children"][2]["x"].n == 4


def test_a_class_with_its_own_init_keeps_it_and_its_signature_params():
    class Own(Configurable):
        def __init__(self, scores, *, label="x"):
            self.scores = scores
            self.label = label

    class Child(Own):
        pass

    assert Own([1], label="y").get_params() == {"scores": [1], "label": "y"}
    assert Child([2]).get_params() == {"scores": [2], "label": "x"}
    assert repr(Child([2])) == "Child(scores=[2], label='x')"
    assert Child([2]).set_params(label="z").clone().label == "z"


def test_params_table_lists_the_spec():
    table = params_table(Leaf).splitlines()
    assert table[0] == "| parameter | type | default | allowed | description |"
    assert table[2] == "| `n` | `int` | `1` | an int >= 0 | A count. |"
    assert len(params_table(ItemKNN).splitlines()) == 2 + len(ItemKNN.param_spec())
    assert "`float \\| None`" in params_table(Popularity)  # a pipe inside a cell is escaped


def test_every_model_documents_every_parameter():
    for cls in MODELS:
        for p in cls.param_spec():
            assert p.doc and p.check is not None, f"{cls.__name__}.{p.name}"


def test_the_module_regenerates_docs(tmp_path):
    from recokit.params import write_docs

    page = tmp_path / "page.md"
    page.write_text("intro\n<!-- params: Popularity -->\nstale\n<!-- /params -->\nend\n")
    assert write_docs(tmp_path) == [page]
    assert page.read_text() == f"intro\n<!-- params: Popularity -->\n{params_table(Popularity)}\n<!-- /params -->\nend\n"
    assert write_docs(tmp_path) == []  # already up to date
