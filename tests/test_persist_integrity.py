"""What ``recokit.load`` guarantees about a saved model's files (docs/persistence.md, "What load guarantees").

Every damage is done to a copy of a model saved by recokit, and every error must be a
PersistError naming the damaged file. The hash tests leave the manifest as it was; the tests of
the checks behind the hash (array headers, declarations, sparse structure, frames, attribute
names, parameters) re-hash the manifest first (``persist_files.rehash``), so that the check
under test is the one that fires.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import recokit.persist.store as store
from persist_files import copy_model, data_files, edit_doc, read_doc, rehash, replace_array
from recokit import (
    AssociationRules,
    Hybrid,
    ItemKNN,
    PersistError,
    Popularity,
    Query,
    Ruled,
    load,
    load_rules,
    save,
)
from recokit.persist.arrays import check_compressed, check_coo, read_array
from recokit.persist.manifest import MAX_MANIFEST_BYTES

ROOT = Path(__file__).resolve().parents[1]
KINDS = ["popularity", "itemknn", "rules", "ruled_hybrid"]


def _build(kind: str, shop):
    if kind == "popularity":
        return Popularity(by="category").fit(shop)
    if kind == "itemknn":
        return ItemKNN(k_neighbours=15).fit(shop)
    if kind == "rules":
        return AssociationRules().fit(shop)
    rules = load_rules(ROOT / "docs" / "examples" / "sports_shop_rules.toml", shop)
    return Ruled(Hybrid({"together": AssociationRules(), "best": Popularity()}), rules, fallback=Popularity()).fit(shop)


@pytest.fixture(scope="module")
def saved(shop, tmp_path_factory):
    """kind -> (the fitted model, its saved directory); never modified (tests damage copies)."""
    out = {}
    for kind in KINDS:
        model = _build(kind, shop)
        out[kind] = (model, save(model, tmp_path_factory.mktemp(kind) / "model"))
    return out


@pytest.fixture(scope="module")
def knn(saved):
    return saved["itemknn"][1]


def _copy(src: Path, tmp_path: Path) -> Path:
    return copy_model(src, tmp_path / "copy")


def _names(path: Path, file: str) -> str:
    """A pattern matching an error that starts by naming ``file`` of the model at ``path``."""
    return "^" + re.escape(str(path / file)) + ": "


def _array_key(path: Path, attribute: str, part: str | None = None) -> str:
    value = read_doc(path)["models"][0]["state"][attribute]
    return value["parts"][part] if part else value["key"]


def _flip(file: Path, offset: int) -> None:
    data = bytearray(file.read_bytes())
    data[offset] ^= 0x01
    file.write_bytes(bytes(data))


def _same_lists(a, b, shop) -> None:
    for c in shop.customer_ids.to_list()[::150]:
        assert b.recommend(Query(customer_id=c, k=5)).item_ids == a.recommend(Query(customer_id=c, k=5)).item_ids


# -- the manifest --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_the_manifest_lists_every_file_with_its_sha256(saved, kind):
    path = saved[kind][1]
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format_version"] == 2
    names = [n for n in data_files(path) if n != "manifest.json"]
    assert sorted(manifest["files"]) == names and "model.json" in names
    for name in names:  # an independent hash of each file
        assert manifest["files"][name] == {"bytes": (path / name).stat().st_size, "sha256": hashlib.sha256((path / name).read_bytes()).hexdigest()}


@pytest.mark.parametrize("kind", KINDS)
def test_a_flipped_byte_in_any_file_is_named(saved, kind, tmp_path):
    path = _copy(saved[kind][1], tmp_path)
    names = [n for n in data_files(path) if n != "manifest.json"]
    assert len(names) >= 6 and any(n.startswith("arrays/") for n in names) and any(n.startswith("frames/") for n in names)
    for name in names:
        file = path / name
        for offset in (0, file.stat().st_size // 2, file.stat().st_size - 1):
            _flip(file, offset)
            with pytest.raises(PersistError, match=_names(path, name) + "its SHA-256 does not match manifest.json"):
                load(path)
            _flip(file, offset)
    load(path)  # every byte put back: loads again


@settings(max_examples=30)
@given(data=st.data())
def test_any_changed_byte_of_any_file_is_named(knn, tmp_path_factory, data):
    """(The manifest's own bytes are not hashed: its entries are checked, its spacing is not.)"""
    path = _copy(knn, tmp_path_factory.mktemp("flip"))
    name = data.draw(st.sampled_from([n for n in data_files(path) if n != "manifest.json"]))
    size = (path / name).stat().st_size
    offset, xor = data.draw(st.integers(0, size - 1)), data.draw(st.integers(1, 255))
    raw = bytearray((path / name).read_bytes())
    raw[offset] ^= xor
    (path / name).write_bytes(bytes(raw))
    with pytest.raises(PersistError, match=_names(path, name) + "its SHA-256 does not match manifest.json"):
        load(path)


@settings(max_examples=30)
@given(data=st.data())
def test_a_changed_size_or_digit_in_the_manifest_is_refused(knn, tmp_path_factory, data):
    path = _copy(knn, tmp_path_factory.mktemp("manifest"))
    manifest = json.loads((path / "manifest.json").read_text())
    name = data.draw(st.sampled_from(sorted(manifest["files"])))
    entry = manifest["files"][name]
    if data.draw(st.booleans()):
        entry["bytes"] += data.draw(st.integers(-entry["bytes"], 10**6).filter(bool))
    else:
        i = data.draw(st.integers(0, 63))
        entry["sha256"] = entry["sha256"][:i] + data.draw(st.sampled_from("0123456789abcdef").filter(lambda c: c != entry["sha256"][i])) + entry["sha256"][i + 1 :]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PersistError, match=_names(path, name) + "(its SHA-256 does not match|\\d+ bytes where manifest.json lists)"):
        load(path)


def test_swapped_array_files_are_named(knn, tmp_path):
    path = _copy(knn, tmp_path)
    a, b = _array_key(path, "similarity_", "data"), _array_key(path, "similarity_t_", "data")
    fa, fb = path / "arrays" / f"{a}.npy", path / "arrays" / f"{b}.npy"
    assert fa.stat().st_size == fb.stat().st_size and fa.read_bytes() != fb.read_bytes()
    ra, rb = fa.read_bytes(), fb.read_bytes()
    fa.write_bytes(rb)
    fb.write_bytes(ra)
    with pytest.raises(PersistError, match=_names(path, f"arrays/{min(a, b, key=lambda k: f'arrays/{k}.npy')}.npy") + "its SHA-256"):
        load(path)


def test_swapped_array_files_of_other_types_are_caught_even_with_a_new_manifest(knn, tmp_path):
    """Equal byte sizes, other dtypes (similarity values f8, similarity keys i8): the declarations in model.json tell."""
    path = _copy(knn, tmp_path)
    a, b = _array_key(path, "similarity_", "data"), _array_key(path, "similarity_keys_")
    fa, fb = path / "arrays" / f"{a}.npy", path / "arrays" / f"{b}.npy"
    assert fa.stat().st_size == fb.stat().st_size
    ra, rb = fa.read_bytes(), fb.read_bytes()
    fa.write_bytes(rb)
    fb.write_bytes(ra)
    rehash(path)
    with pytest.raises(PersistError, match=r"holds a <i8 array of shape \[\d+\], model\.json declares .*'<f8'.*: the files were swapped or edited"):
        load(path)


@pytest.mark.parametrize("which", ["model.json", "array", "frame"])
def test_a_cut_file_is_named(saved, tmp_path, which):
    path = _copy(saved["rules"][1], tmp_path)
    names = data_files(path)
    name = {"model.json": "model.json", "array": next(n for n in names if n.startswith("arrays/")), "frame": next(n for n in names if n.startswith("frames/"))}[which]
    size = (path / name).stat().st_size
    with open(path / name, "r+b") as fh:
        fh.truncate(size - 7)
    with pytest.raises(PersistError, match=_names(path, name) + rf"{size - 7} bytes where manifest\.json lists {size}: the file was cut"):
        load(path)


def test_a_missing_file_is_named(knn, tmp_path):
    for name in ("model.json", "arrays/a3.npy", "frames/f1.parquet"):
        path = copy_model(knn, tmp_path / name.replace("/", "_"))
        (path / name).unlink()
        with pytest.raises(PersistError, match=_names(path, name) + "the file is missing"):
            load(path)
    path = copy_model(knn, tmp_path / "manifest")
    (path / "manifest.json").unlink()
    with pytest.raises(PersistError, match=r"not a saved recokit model \(no manifest\.json in it\)"):
        load(path)


@pytest.mark.parametrize("name", ["notes.txt", "arrays/a99.npy", "frames/f0.parquet.bak", ".DS_Store"])
def test_an_extra_file_is_named(knn, tmp_path, name):
    path = _copy(knn, tmp_path)
    (path / name).write_bytes(b"\x93NUMPY" if name.endswith(".npy") else b"hello")
    with pytest.raises(PersistError, match=_names(path, name) + "the file is not listed in manifest.json"):
        load(path)


def test_an_extra_folder_is_named(knn, tmp_path):
    path = _copy(knn, tmp_path)
    (path / "arrays" / "more").mkdir()
    with pytest.raises(PersistError, match=_names(path, "arrays/more") + "is not a regular file"):
        load(path)
    (path / "arrays" / "more").rmdir()
    (path / "cache").mkdir()
    with pytest.raises(PersistError, match=_names(path, "cache") + "unexpected folder"):
        load(path)


# -- symbolic links ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["model.json", "manifest.json", "arrays/a2.npy", "frames/f0.parquet"])
def test_a_file_replaced_by_a_link_is_refused_even_to_identical_bytes(knn, tmp_path, name):
    path = _copy(knn, tmp_path)
    twin = tmp_path / "elsewhere.bin"
    twin.write_bytes((path / name).read_bytes())  # the same bytes: the hash alone would pass
    (path / name).unlink()
    (path / name).symlink_to(twin)
    with pytest.raises(PersistError, match=_names(path, name) + "is a symbolic link"):
        load(path)


def test_a_linked_folder_or_model_directory_is_refused(knn, tmp_path):
    path = _copy(knn, tmp_path)
    elsewhere = tmp_path / "frames-elsewhere"
    (path / "frames").rename(elsewhere)
    (path / "frames").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(PersistError, match=_names(path, "frames") + "is a symbolic link"):
        load(path)
    link = tmp_path / "current"
    link.symlink_to(knn, target_is_directory=True)
    with pytest.raises(PersistError, match="^" + re.escape(str(link)) + r": is a symbolic link(.|\n)*Hint: .*resolve\(\)"):
        load(link)
    assert load(link.resolve()).is_fitted  # the documented way for a link the shop owns


# -- arrays: header, size, dtype -----------------------------------------------------------------
def _with_header_shape(raw: bytes, old: str, new: str) -> bytes:
    """An .npy file's bytes with the shape in its (format 1.0) header replaced, data unchanged."""
    n = int.from_bytes(raw[8:10], "little")
    header = raw[10 : 10 + n].decode("latin-1")
    assert f"'shape': {old}" in header
    changed = header.rstrip(" \n").replace(f"'shape': {old}", f"'shape': {new}").ljust(n - 1) + "\n"
    assert len(changed) == n
    return raw[:10] + changed.encode("latin-1") + raw[10 + n :]


def test_a_header_declaring_a_huge_shape_is_refused_before_allocating(knn, tmp_path):
    path = _copy(knn, tmp_path)
    key = _array_key(path, "item_counts_")
    file = path / "arrays" / f"{key}.npy"
    n = read_doc(path)["arrays"][key]["shape"][0]
    huge = 20_000_000  # 160 MB of int64 declared by a file of a few kB
    file.write_bytes(_with_header_shape(file.read_bytes(), f"({n},)", f"({huge},)"))
    edit_doc(path, lambda d: d["arrays"][key].update(shape=[huge]))  # declared consistently: the size check is under test
    tracemalloc.start()
    with pytest.raises(ValueError, match="could only read"):
        np.load(file, allow_pickle=False)  # the crafted file is a real bomb for numpy's own reader...
    bomb_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    with pytest.raises(PersistError, match=_names(path, f"arrays/{key}.npy") + rf"its header declares {huge} values of 8 bytes .* but {n * 8} bytes follow"):
        with open(file, "rb") as fh:
            read_array(fh, file, file.stat().st_size, {"dtype": "<i8", "shape": [huge]})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert bomb_peak > 150e6 and peak < 1e6  # ...and recokit's allocates nothing
    with pytest.raises(PersistError, match=_names(path, f"arrays/{key}.npy") + "its header declares"):
        load(path)


def test_a_header_numpy_would_parse_but_recokit_does_not_write_is_refused(knn, tmp_path):
    path = _copy(knn, tmp_path)
    key = _array_key(path, "item_counts_")
    file = path / "arrays" / f"{key}.npy"
    n = read_doc(path)["arrays"][key]["shape"][0]
    file.write_bytes(_with_header_shape(file.read_bytes(), f"({n},)", f"({n} ,)"))
    rehash(path)
    assert np.load(file, allow_pickle=False).shape == (n,)
    with pytest.raises(PersistError, match=_names(path, f"arrays/{key}.npy") + "the array header is not one numpy.save writes"):
        load(path)


@pytest.mark.parametrize(
    "planted, message",
    [
        (np.array([{"evil": 1}], dtype=object), r"arrays of dtype '\|O' are not loaded"),
        (np.zeros(3, dtype=[("a", "<i8")]), "the array header is not one numpy.save writes"),  # structured: a list descr
        (np.zeros(3, dtype="V8"), r"arrays of dtype '\|V8' are not loaded"),
    ],
)
def test_object_and_structured_arrays_are_refused(knn, tmp_path, planted, message):
    path = _copy(knn, tmp_path)
    key = _array_key(path, "item_counts_")
    replace_array(path, key, planted)
    with pytest.raises(PersistError, match=_names(path, f"arrays/{key}.npy") + message):
        load(path)


def test_an_array_of_another_shape_than_declared_is_refused(knn, tmp_path):
    path = _copy(knn, tmp_path)
    key = _array_key(path, "item_counts_")
    replace_array(path, key, np.arange(7, dtype=np.int64), declare=False)
    with pytest.raises(PersistError, match=_names(path, f"arrays/{key}.npy") + r"holds a <i8 array of shape \[7\], model\.json declares"):
        load(path)


@settings(max_examples=40)
@given(
    a=st.one_of(
        st.lists(st.integers(-(2**63), 2**63 - 1), max_size=20).map(lambda x: np.array(x, dtype=np.int64)),
        st.lists(st.floats(allow_nan=True), max_size=20).map(lambda x: np.array(x, dtype=np.float64)),
        st.lists(st.text(max_size=5).filter(lambda s: not s.endswith("\x00")), max_size=6).map(lambda x: np.array(x, dtype=np.str_)),
        st.lists(st.booleans(), max_size=20).map(np.array),
        st.integers(0, 5).flatmap(lambda r: st.just(np.arange(r * 3, dtype=np.int32).reshape(r, 3).T)),  # Fortran order
    )
)
def test_read_array_reads_what_numpy_wrote(tmp_path_factory, a):
    file = tmp_path_factory.mktemp("a") / "a0.npy"
    np.save(file, a, allow_pickle=False)
    with open(file, "rb") as fh:
        got = read_array(fh, file, file.stat().st_size, {"dtype": a.dtype.str, "shape": list(a.shape)})
    assert got.dtype == a.dtype and got.shape == a.shape and np.array_equal(got, a, equal_nan=a.dtype.kind == "f")


# -- sparse structure ----------------------------------------------------------------------------
def _swap_two_in_a_row(indices: np.ndarray, indptr: np.ndarray) -> None:
    row = int(np.argmax(np.diff(indptr) >= 2))
    j = int(indptr[row])
    indices[j], indices[j + 1] = indices[j + 1], indices[j]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda ind, ptr: ind.__setitem__(3, 10**6), r"indices holds values outside \[0, \d+\)"),
        (lambda ind, ptr: ind.__setitem__(3, -1), r"indices holds values outside \[0, \d+\)"),
        (lambda ind, ptr: ptr.__setitem__(5, ptr[6] + 1), r"indptr decreases \(first at position 5\)"),
        (lambda ind, ptr: ptr.__setitem__(0, 1), "indptr must start at 0 and end at the number of indices"),
        (lambda ind, ptr: ptr.__setitem__(-1, ptr[-1] - 1), "indptr must start at 0 and end at the number of indices"),
        (_swap_two_in_a_row, "not strictly increasing within a row"),
    ],
)
def test_a_broken_sparse_structure_is_refused(knn, tmp_path, change, message):
    path = _copy(knn, tmp_path)
    keys = {p: _array_key(path, "similarity_", p) for p in ("indices", "indptr")}
    parts = {p: np.load(path / "arrays" / f"{k}.npy", allow_pickle=False) for p, k in keys.items()}
    before = {p: a.copy() for p, a in parts.items()}
    change(parts["indices"], parts["indptr"])
    for p, k in keys.items():
        if not np.array_equal(parts[p], before[p]):
            replace_array(path, k, parts[p])  # same dtype and shape, re-hashed: only the structure is wrong
    with pytest.raises(PersistError, match=re.escape(f"{path}: root (ItemKNN).similarity_ (a csr_array of shape") + ".*" + message):
        load(path)


def test_a_sparse_shape_that_does_not_fit_its_parts_is_refused(knn, tmp_path):
    path = _copy(knn, tmp_path)
    edit_doc(path, lambda d: d["models"][0]["state"]["similarity_"].update(shape=[5, 503]))
    with pytest.raises(PersistError, match=r"indptr must be a 1-d integer array of length 6"):
        load(path)


@st.composite
def _csr_parts(draw):
    """A CSR matrix's parts, valid or broken in one random way."""
    n_rows, n_cols = draw(st.integers(0, 6)), draw(st.integers(1, 6))
    m = sp.random_array((n_rows, n_cols), density=draw(st.floats(0, 1)), format="csr", rng=draw(st.integers(0, 2**32 - 1)))
    m.sum_duplicates()
    data, indices, indptr = m.data.copy(), m.indices.astype(np.int64), m.indptr.astype(np.int64)
    if draw(st.booleans()):  # break it, or not
        arrays = {"indices": indices, "indptr": indptr}
        name = draw(st.sampled_from(sorted(arrays)))
        target = arrays[name]
        if len(target):
            target[draw(st.integers(0, len(target) - 1))] = draw(st.integers(-3, n_cols + 3))
    return (n_rows, n_cols), data, indices, indptr


@given(parts=_csr_parts())
def test_check_compressed_accepts_exactly_what_scipy_fully_validates_as_canonical(parts):
    """Differential: scipy's full check (plus its canonical-format check) is the independent oracle."""
    shape, data, indices, indptr = parts
    try:
        m = sp.csr_array((data.copy(), indices.copy(), indptr.copy()), shape=shape)
        m.check_format(full_check=True)
        # scipy accepts indptr[-1] < len(indices) and silently drops the rest (prune): recokit does not
        scipy_ok = m.nnz == len(indices) and bool(m.has_canonical_format)
    except (ValueError, IndexError, OverflowError):
        scipy_ok = False
    try:
        check_compressed(shape, data, indices, indptr, by_rows=True, canonical=True, file="t")
        ours = True
    except PersistError:
        ours = False
    assert ours == scipy_ok


def test_check_coo_names_an_index_out_of_range():
    check_coo((3, 4), np.ones(2), np.array([0, 2]), np.array([3, 0]), file="f")
    with pytest.raises(PersistError, match=r"^f: col holds values outside \[0, 4\)"):
        check_coo((3, 4), np.ones(2), np.array([0, 2]), np.array([4, 0]), file="f")
    with pytest.raises(PersistError, match="2 row indices for 1 column indices"):
        check_coo((3, 4), np.ones(2), np.array([0, 2]), np.array([1]), file="f")


# -- frames and the Dataset ----------------------------------------------------------------------
def _interactions_file(path: Path) -> str:
    return read_doc(path)["datasets"][0]["interactions"]["file"]


def test_a_cut_interactions_table_is_refused_even_with_a_new_manifest(knn, tmp_path):
    path = _copy(knn, tmp_path)
    name = _interactions_file(path)
    table = pl.read_parquet(path / name)
    table.head(len(table) - 10).write_parquet(path / name)
    rehash(path)
    with pytest.raises(PersistError, match=_names(path, name) + rf"holds {len(table) - 10} rows of schema .*; model\.json declares {len(table)} rows"):
        load(path)


def test_a_frame_is_checked_against_its_declaration_before_its_data_is_read(knn, tmp_path, monkeypatch):
    path = _copy(knn, tmp_path)
    name = _interactions_file(path)
    pl.read_parquet(path / name).head(100).write_parquet(path / name)
    rehash(path)
    read, real = [], pl.read_parquet

    def recording(source, *args, **kwargs):
        read.append(Path(source.name) if hasattr(source, "name") else source)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(pl, "read_parquet", recording)
    with pytest.raises(PersistError, match=_names(path, name) + "holds 100 rows"):
        load(path)
    assert path / name not in read  # refused from the footer: the rows were never decoded


def test_a_frame_of_another_schema_is_refused(knn, tmp_path):
    path = _copy(knn, tmp_path)
    name = _interactions_file(path)
    pl.read_parquet(path / name).with_columns(pl.col("weight").cast(pl.Float32)).write_parquet(path / name)
    rehash(path)
    with pytest.raises(PersistError, match=_names(path, name) + r"holds \d+ rows of schema .*\['weight', 'Float32'\]"):
        load(path)


@pytest.mark.parametrize("column", ["item_idx", "customer_idx", "basket_idx"])
def test_interactions_pointing_outside_the_id_maps_are_refused(knn, tmp_path, column):
    path = _copy(knn, tmp_path)
    name = _interactions_file(path)
    table = pl.read_parquet(path / name)
    table.with_columns(pl.when(pl.int_range(pl.len()) == 4).then(pl.col(column).max() + 10**6).otherwise(pl.col(column)).alias(column)).write_parquet(path / name)
    rehash(path)  # same rows and schema: the Dataset's own consistency is under test
    with pytest.raises(PersistError, match=_names(path, name) + rf"dataset 0\.interactions: {column} must hold values in \[0, \d+\)"):
        load(path)


# -- attributes and parameters -------------------------------------------------------------------
@pytest.mark.parametrize("name", ["recommend", "is_fitted", "_score", "param_names", "get_params"])
def test_a_saved_attribute_named_like_a_method_or_property_is_refused(saved, tmp_path, name):
    path = _copy(saved["popularity"][1], tmp_path)
    edit_doc(path, lambda d: d["models"][0]["state"].update({name: 1}))
    with pytest.raises(PersistError, match=_names(path, "model.json") + re.escape(f"root (Popularity): the saved attribute(s) ['{name}'] are named like methods")):
        load(path)


@pytest.mark.parametrize(
    "param, value, message",
    [
        ("k_neighbours", 0, "The 'k_neighbours' parameter of ItemKNN must be an int >= 1. Got 0 instead."),
        ("k_neighbours", "15", "The 'k_neighbours' parameter of ItemKNN must be an int >= 1. Got '15' instead."),
        ("k_neighbours", True, "The 'k_neighbours' parameter of ItemKNN must be an int >= 1. Got True instead."),
    ],
)
def test_a_tampered_parameter_value_is_refused(knn, tmp_path, param, value, message):
    path = _copy(knn, tmp_path)
    edit_doc(path, lambda d: d["models"][0]["params"].update({param: value}))
    with pytest.raises(PersistError, match=_names(path, "model.json") + r"root \(ItemKNN\): a saved parameter of ItemKNN is invalid: " + re.escape(message)):
        load(path)


def test_a_tampered_parameter_of_a_nested_model_is_refused(saved, tmp_path):
    path = _copy(saved["ruled_hybrid"][1], tmp_path)
    doc = read_doc(path)
    nested = next(i for i, m in enumerate(doc["models"]) if m["class"] == "Popularity" and m["state"] is not None)
    assert nested != doc["root"]
    edit_doc(path, lambda d: d["models"][nested]["params"].update(half_life_days=-3))
    with pytest.raises(PersistError, match=r"model\.json: .*\(Popularity\): a saved parameter of Popularity is invalid: The 'half_life_days' parameter"):
        load(path)


# -- the manifest itself -------------------------------------------------------------------------
def test_a_manifest_entry_must_be_well_formed(knn, tmp_path):
    path = _copy(knn, tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    for entry in ({"bytes": -1, "sha256": "0" * 64}, {"bytes": 3, "sha256": "XYZ"}, {"bytes": 3}, {"bytes": True, "sha256": "0" * 64}):
        (path / "manifest.json").write_text(json.dumps(manifest | {"files": manifest["files"] | {"model.json": entry}}))
        with pytest.raises(PersistError, match=_names(path, "manifest.json") + "the entry of 'model.json' must be"):
            load(path)
    (path / "manifest.json").write_text(json.dumps(manifest | {"files": manifest["files"] | {"../outside.npy": {"bytes": 0, "sha256": "0" * 64}}}))
    with pytest.raises(PersistError, match=_names(path, "manifest.json") + r"lists '\.\./outside\.npy', which is not a file of a saved model"):
        load(path)


def test_a_huge_manifest_is_refused_unread(knn, tmp_path):
    path = _copy(knn, tmp_path)
    with open(path / "manifest.json", "ab") as fh:
        fh.truncate(MAX_MANIFEST_BYTES + 1)
    with pytest.raises(PersistError, match=_names(path, "manifest.json") + f"{MAX_MANIFEST_BYTES + 1} bytes; a manifest is at most"):
        load(path)


# -- atomic save ---------------------------------------------------------------------------------
class _Halfway(Exception):
    pass


def _fail_on_call(n: int, real):
    calls = {"n": 0}

    def writer(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise _Halfway("the disk filled up")
        return real(*args, **kwargs)

    return writer


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("where", ["arrays", "manifest"])
def test_a_save_failing_halfway_leaves_the_previous_model_loadable(saved, shop, tmp_path, monkeypatch, overwrite, where):
    old_model, old_dir = saved["itemknn"]
    path = copy_model(old_dir, tmp_path / "m") if overwrite else tmp_path / "m"
    before = {n: (path / n).read_bytes() for n in data_files(path)} if overwrite else None
    if where == "arrays":
        monkeypatch.setattr(store, "write_array", _fail_on_call(4, store.write_array))
    else:
        monkeypatch.setattr(store, "write_manifest", _fail_on_call(1, store.write_manifest))
    with pytest.raises(_Halfway):
        save(ItemKNN(k_neighbours=3).fit(shop), path, overwrite=overwrite)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["m"] if overwrite else [])  # no temporary directory left
    if overwrite:
        assert {n: (path / n).read_bytes() for n in data_files(path)} == before
        _same_lists(old_model, load(path), shop)


def test_when_the_final_rename_fails_the_previous_model_is_put_back(saved, shop, tmp_path, monkeypatch):
    """Where directories cannot be exchanged atomically (not Linux), save renames twice: a failure between is undone."""
    old_model, old_dir = saved["itemknn"]
    path = copy_model(old_dir, tmp_path / "m")
    monkeypatch.setattr(store, "_exchange", lambda a, b: False)
    real_rename = Path.rename

    def rename(self, target):
        if self.name.startswith(".m.tmp-"):
            raise _Halfway("rename failed")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(_Halfway):
        save(ItemKNN(k_neighbours=3).fit(shop), path, overwrite=True)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    _same_lists(old_model, load(path), shop)


def test_overwrite_exchanges_the_directories_in_one_step(saved, shop, tmp_path, monkeypatch):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    if not store._exchange(tmp_path / "x", tmp_path / "y"):
        pytest.skip("this system or file system cannot exchange two directories atomically (renameat2)")
    (tmp_path / "x").rmdir()
    (tmp_path / "y").rmdir()
    old_dir = saved["popularity"][1]
    path = copy_model(old_dir, tmp_path / "m")
    renames = []
    monkeypatch.setattr(Path, "rename", lambda self, target: renames.append((self, target)))  # any rename would be a gap
    new = Popularity().fit(shop)
    save(new, path, overwrite=True)
    monkeypatch.undo()
    assert renames == [] and sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    assert load(path).get_params() == new.get_params()


_KILLED_SAVE = """
import os, signal, sys
import recokit, recokit.persist.store as store
from recokit import ItemKNN
from recokit.datasets import sports_shop
real, calls = store.write_array, []
def write_array(file, a):
    calls.append(file)
    if len(calls) == 5:
        os.kill(os.getpid(), signal.SIGKILL)  # a crash half-way: no except, no finally runs
    real(file, a)
store.write_array = write_array
recokit.save(ItemKNN(k_neighbours=3).fit(sports_shop(200, seed=5)), sys.argv[1], overwrite=True)
"""


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_a_save_killed_halfway_leaves_the_previous_model_loadable(saved, shop, tmp_path):
    old_model, old_dir = saved["itemknn"]
    path = copy_model(old_dir, tmp_path / "m")
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(path)], env=env, capture_output=True, timeout=120)
    assert run.returncode == -signal.SIGKILL, run.stderr.decode()
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name != "m")
    assert len(leftovers) == 1 and leftovers[0].startswith(".m.tmp-")  # a killed save cannot clean up: documented
    _same_lists(old_model, load(path), shop)
