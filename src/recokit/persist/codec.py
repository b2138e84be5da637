"""Values to JSON and back: the tagged encoding of a model's parameters and fitted state.

:class:`Writer` turns a model (and every model, Dataset, rule set, array and frame it holds) into
JSON-able tagged values, collecting numpy arrays and polars frames on the side for the caller to
write, with their declarations (every array's dtype and shape, every frame's row count and
schema, saved in ``model.json``); :class:`Reader` rebuilds them from the parsed ``model.json``
and the files :func:`~recokit.persist.manifest.verify` checked, checking each array against its
declaration (:mod:`recokit.persist.arrays`), each sparse matrix's structure, each frame's row
count and schema, each Dataset's indices. The tags are listed in ``docs/persistence.md``.

Models are encoded generically: every attribute of the model that is not a constructor
parameter (fitted state ends with ``_``; some models keep private ``_x`` arrays) is encoded by
type. A model holding an object of another library (ALS/BPR keep implicit's model) provides two
small hooks, ``_get_state() -> dict`` (the attributes to save) and ``_set_state(state)`` (set them
and rebuild the rest). An attribute of any other type makes saving fail with an error naming the
attribute and its type, so a new model with unsupported state fails in the tests.

Nothing read is executed or imported: classes come from :mod:`recokit.persist.registry` by name,
and a saved attribute may not be named like anything the model's class defines (a method, a
property): loading never replaces behaviour.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from recokit._errors import ConfigError, PersistError
from recokit.core import Recommender
from recokit.data import Dataset, IdMap
from recokit.persist.arrays import check_compressed, check_coo, read_array
from recokit.persist.layout import FRAMES, MODEL_JSON, array_file
from recokit.persist.manifest import Verified, damaged
from recokit.persist.registry import DATACLASSES, MODELS, dataclass_name
from recokit.rules import RuleSet

__all__ = ["Reader", "Writer"]

_SPARSE = {
    "csr_array": sp.csr_array,
    "csr_matrix": sp.csr_matrix,
    "csc_array": sp.csc_array,
    "csc_matrix": sp.csc_matrix,
    "coo_array": sp.coo_array,
    "coo_matrix": sp.coo_matrix,
}
#: a Dataset's caches, rebuilt on demand: never saved, emptied on load
_DATASET_CACHES: dict[str, Any] = {"_matrices": dict, "_purchases": lambda: None, "_last_time": lambda: None, "_pending": lambda: None}
#: what a saved Dataset holds (its caches aside)
_DATASET_TYPES: dict[str, tuple[type, ...]] = {
    "columns": (dict,),
    "interactions": (pl.DataFrame,),
    "catalog": (pl.DataFrame,),
    "customers": (pl.DataFrame, type(None)),
    "item_ids": (IdMap,),
    "customer_ids": (IdMap,),
    "_basket_customer": (np.ndarray,),
    "_basket_time": (np.ndarray, type(None)),
}
_SPARSE_PARTS = {"csr": ("data", "indices", "indptr"), "csc": ("data", "indices", "indptr"), "coo": ("data", "row", "col")}


# ------------------------------------------------------------------------------------------
# encoding
# ------------------------------------------------------------------------------------------
def _init_names(cls: type) -> list[str]:
    return list(inspect.signature(cls).parameters)


def _constructor_args(obj: Any, where: str) -> dict[str, Any]:
    """The constructor arguments of a non-model object (a RuleSet), read back from its attributes.

    Every public attribute that is not fitted state must be one of them: a new setting that this
    module does not know fails here, loudly, instead of being reset to its default on load.
    """
    names = _init_names(type(obj))
    public = [k for k in vars(obj) if not k.startswith("_") and not k.endswith("_")]
    unknown = sorted(set(public) - set(names))
    missing = [n for n in names if n not in vars(obj)]
    if unknown or missing:
        raise PersistError(f"cannot save {where}: {type(obj).__name__}'s settings {unknown or missing} do not match its constructor.")
    return {n: getattr(obj, n) for n in names}


class Writer:
    """Encodes objects into JSON-able tagged values, collecting arrays and frames on the side.

    :meth:`model` encodes a model and returns its number in :attr:`models`; afterwards
    :attr:`models` and :attr:`datasets` are the lists ``model.json`` holds, :attr:`arrays` the
    arrays to write (key -> array, one file each) and :attr:`frames` the Parquet files (path ->
    frame); :meth:`declarations` describes both for ``model.json``.
    """

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.frames: dict[str, pl.DataFrame] = {}
        self.models: list[dict[str, Any] | None] = []
        self.model_refs: dict[int, int] = {}
        self.datasets: list[dict[str, Any] | None] = []
        self.dataset_refs: dict[int, int] = {}
        self._keep: list[Any] = []  # keep encoded objects alive so id() stays unique

    def array(self, a: np.ndarray) -> str:
        key = f"a{len(self.arrays)}"
        self.arrays[key] = a
        return key

    def frame(self, df: pl.DataFrame) -> str:
        name = f"{FRAMES}/f{len(self.frames)}.parquet"
        self.frames[name] = df
        return name

    def declarations(self) -> dict[str, Any]:
        """``model.json``'s ``arrays`` (key -> dtype and shape) and ``frames`` (file -> rows and schema)."""
        return {
            "arrays": {k: {"dtype": a.dtype.str, "shape": list(a.shape)} for k, a in self.arrays.items()},
            "frames": {n: {"rows": df.height, "schema": schema_of(df)} for n, df in self.frames.items()},
        }

    # -- values ---------------------------------------------------------------------------
    def encode(self, v: Any, where: str) -> Any:
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int) and type(v) is int:
            return v
        if type(v) is float:
            return v if np.isfinite(v) else {"$": "float", "v": repr(v)}
        if isinstance(v, np.generic):
            if v.dtype.kind in "biuf":
                return {"$": "np_scalar", "dtype": v.dtype.str, "v": self.encode(v.item(), where)}
            if v.dtype.kind in "Mm":  # datetime64 / timedelta64: a 0-d array keeps the unit
                return {"$": "np_scalar", "key": self.array(np.asarray(v))}
            raise self._unsupported(v, where)
        if isinstance(v, Recommender):
            return {"$": "model", "ref": self.model(v, where)}
        if isinstance(v, Dataset):
            return {"$": "dataset", "ref": self.dataset(v, where)}
        if isinstance(v, RuleSet):
            config = _constructor_args(v, where)  # the whole config, e.g. purchase_event
            fitted = hasattr(v, "compiled_")
            return {
                "$": "ruleset",
                "config": {k: self.encode(x, f"{where}.{k}") for k, x in config.items()},
                "dataset": self.encode(v.dataset_, f"{where}.dataset_") if fitted else None,
            }
        if isinstance(v, IdMap):
            return {"$": "idmap", "name": v.name, "ids": self.encode(v.series, f"{where}.series")}
        if isinstance(v, np.ndarray):
            return self.ndarray(v, where)
        if sp.issparse(v):
            return self.sparse(v, where)
        if isinstance(v, pl.DataFrame):
            return {"$": "frame", "file": self.frame(v)}
        if isinstance(v, pl.Series):
            return {"$": "series", "name": v.name, "file": self.frame(pl.DataFrame([v.alias("s")]))}
        if isinstance(v, list):
            return [self.encode(x, f"{where}[{i}]") for i, x in enumerate(v)]
        if isinstance(v, tuple) and type(v) is tuple:
            return {"$": "tuple", "v": [self.encode(x, f"{where}[{i}]") for i, x in enumerate(v)]}
        if isinstance(v, dict) and type(v) is dict:
            return {"$": "dict", "v": [[self.encode(k, f"{where} key"), self.encode(x, f"{where}[{k!r}]")] for k, x in v.items()]}
        if type(v) in (set, frozenset):
            items = sorted(v, key=repr)  # a stable file for the same set
            return {"$": type(v).__name__, "v": [self.encode(x, f"{where} item") for x in items]}
        if type(v) is dt.datetime:
            return {"$": "datetime", "v": v.isoformat()}
        if type(v) is dt.date:
            return {"$": "date", "v": v.isoformat()}
        if type(v) is dt.timedelta:
            return {"$": "timedelta", "days": v.days, "seconds": v.seconds, "microseconds": v.microseconds}
        if isinstance(v, PurePath):
            return {"$": "path", "v": str(v)}
        if dataclasses.is_dataclass(v) and not isinstance(v, type) and (name := dataclass_name(type(v))) is not None:
            fields = {f.name: self.encode(getattr(v, f.name), f"{where}.{f.name}") for f in dataclasses.fields(v) if f.init}
            return {"$": "dataclass", "class": name, "fields": fields}
        raise self._unsupported(v, where)

    @staticmethod
    def _unsupported(v: Any, where: str) -> PersistError:
        t = type(v)
        return PersistError(
            f"cannot save {where}: recokit does not know how to store a {t.__module__}.{t.__qualname__} without pickle.", hint="store it as numpy arrays, scipy sparse matrices, polars frames or plain Python values, or give the "
                "model _get_state()/_set_state() hooks (see recokit.persist.codec)."
        )

    def ndarray(self, a: np.ndarray, where: str) -> dict[str, Any]:
        if a.dtype.hasobject:
            flat = a.ravel().tolist()
            # names, reasons: a numpy unicode array (which would drop a trailing NUL: those go to JSON)
            if all(isinstance(x, str) and not x.endswith("\x00") for x in flat):
                return {"$": "ndarray", "key": self.array(np.array(flat, dtype=np.str_).reshape(a.shape)), "object": "str"}
            return {"$": "object_array", "shape": list(a.shape), "v": [self.encode(x, f"{where}[{i}]") for i, x in enumerate(flat)]}
        if a.dtype.fields is not None or a.dtype.kind == "V":
            raise self._unsupported(a, where)
        return {"$": "ndarray", "key": self.array(a)}

    def sparse(self, m: Any, where: str) -> dict[str, Any]:
        cls = type(m).__name__
        if cls not in _SPARSE:
            raise PersistError(f"cannot save {where}: sparse format {cls} is not supported.", hint="convert it to CSR (m.tocsr()).")
        return {
            "$": "sparse",
            "class": cls,
            "shape": list(m.shape),
            # recokit's request code relies on canonical rows (sorted, no duplicates): checked on load
            "canonical": m.format != "coo" and bool(m.has_canonical_format),
            "parts": {p: self.array(np.asarray(getattr(m, p))) for p in _SPARSE_PARTS[m.format]},
        }

    # -- shared objects -------------------------------------------------------------------
    def dataset(self, ds: Dataset, where: str) -> int:
        if id(ds) in self.dataset_refs:
            return self.dataset_refs[id(ds)]
        ref = len(self.datasets)
        self.dataset_refs[id(ds)] = ref
        self._keep.append(ds)
        self.datasets.append(None)
        ds.interactions  # noqa: B018 -- the sorted table, built on first read: saved as such
        attrs = {k: v for k, v in vars(ds).items() if k not in _DATASET_CACHES}
        if set(attrs) != set(_DATASET_TYPES):  # Dataset gained an attribute: teach _DATASET_TYPES
            raise PersistError(f"cannot save {where}: a Dataset with attributes {sorted(attrs)}; recokit.persist knows {sorted(_DATASET_TYPES)}.")
        # in the declared order (the table is set last when built on first read): the same files
        self.datasets[ref] = {k: self.encode(attrs[k], f"{where}.{k}") for k in _DATASET_TYPES}
        return ref

    def model(self, m: Recommender, where: str) -> int:
        if id(m) in self.model_refs:
            return self.model_refs[id(m)]
        name = type(m).__name__
        if MODELS.get(name) is not type(m):
            raise PersistError(
                f"cannot save {where}: {type(m).__module__}.{type(m).__qualname__} is not one of recokit's models.", hint=f"save one of {sorted(MODELS)}."
            )
        ref = len(self.models)
        self.model_refs[id(m)] = ref
        self._keep.append(m)
        self.models.append(None)
        params = m.get_params()
        unstored = [n for n in type(m).param_names() if n not in params]
        if unstored:  # would be reset to the default on load: implicit's BM25 K1/B trap
            raise PersistError(f"cannot save {where}: parameter(s) {unstored} of {name} are not stored on the instance.")
        entry: dict[str, Any] = {
            "class": name,
            "params": {k: self.encode(v, f"{where}.{k}") for k, v in params.items()},
            "state": None,
        }
        if m.is_fitted:
            state = m._get_state() if hasattr(m, "_get_state") else dict(vars(m))
            entry["state"] = {k: self.encode(v, f"{where}.{k}") for k, v in state.items() if k not in params}
        self.models[ref] = entry
        return ref


def schema_of(df: pl.DataFrame) -> list[list[str]]:
    """A frame's schema as saved in ``model.json``: ``[[column, polars dtype as text], ...]``."""
    return [[name, str(dtype)] for name, dtype in df.schema.items()]


# ------------------------------------------------------------------------------------------
# decoding
# ------------------------------------------------------------------------------------------
class Reader:
    """Rebuilds the values of a parsed ``model.json`` (``doc``) from the checked ``files`` of the
    directory ``path``; shared models and Datasets are rebuilt once."""

    def __init__(self, path: Path, doc: dict[str, Any], files: Verified) -> None:
        self.path = path
        self.doc = doc
        self.files = files
        self.models: dict[int, Recommender] = {}
        self.building: set[int] = set()
        self.datasets: dict[int, Dataset] = {}

    def bad(self, msg: str, file: str = MODEL_JSON) -> PersistError:
        return damaged(self.path / file, msg)

    def array(self, key: Any, where: str) -> np.ndarray:
        if not isinstance(key, str) or key not in self.doc["arrays"]:
            raise self.bad(f"{where}: no array {key!r} is declared.")
        file = array_file(key)
        if file not in self.files.names:
            raise self.bad(f"{where}: the file {file} of the array {key!r} is missing.")
        return read_array(self.files.open(file), self.path / file, self.files.size(file), self.doc["arrays"][key])

    def frame(self, name: Any, where: str) -> pl.DataFrame:
        declared = self.doc["frames"].get(name) if isinstance(name, str) else None
        if declared is None:
            raise self.bad(f"{where}: no frame file {name!r} is declared.")
        if name not in self.files.names:
            raise self.bad(f"{where}: the frame file {name!r} is missing.")
        rows, schema = declared.get("rows") if isinstance(declared, dict) else None, declared.get("schema") if isinstance(declared, dict) else None
        if type(rows) is not int or not isinstance(schema, list):
            raise self.bad(f"{where}: the declaration of {name!r} must be {{'rows': <int>, 'schema': [[column, dtype], ...]}}.")
        try:
            found = [[c, str(t)] for c, t in pl.read_parquet_schema(self.files.open(name)).items()]
            n = pl.scan_parquet(self.files.open(name)).select(pl.len()).collect().item()
        except Exception as exc:
            raise self.bad(f"not readable Parquet ({exc}).", name) from None
        if found != schema or n != rows:
            raise self.bad(f"holds {n} rows of schema {found}; model.json declares {rows} rows of schema {schema}.", name)
        try:
            df = pl.read_parquet(self.files.open(name))
        except Exception as exc:
            raise self.bad(f"not readable Parquet ({exc}).", name) from None
        if df.height != rows or schema_of(df) != schema:  # the data, not only the footer, as declared
            raise self.bad(f"holds {df.height} rows of schema {schema_of(df)}; model.json declares {rows} rows of schema {schema}.", name)
        return df

    def decode(self, v: Any, where: str) -> Any:
        if v is None or isinstance(v, (bool, str, int, float)):
            return v
        if isinstance(v, list):
            return [self.decode(x, f"{where}[{i}]") for i, x in enumerate(v)]
        if not isinstance(v, dict) or "$" not in v:
            raise self.bad(f"{where}: unexpected value {v!r}.")
        tag = v["$"]
        handler: Callable[[dict[str, Any], str], Any] | None = getattr(self, f"_d_{tag}", None) if isinstance(tag, str) and tag.isidentifier() else None
        if handler is None:
            raise self.bad(f"{where}: unknown value type {tag!r}.")
        try:
            return handler(v, where)
        except PersistError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise self.bad(f"{where}: cannot rebuild the {tag} value ({type(exc).__name__}: {exc}).") from None

    # -- tag handlers ---------------------------------------------------------------------
    def _d_float(self, v: dict, where: str) -> float:
        if v["v"] not in ("nan", "inf", "-inf"):
            raise self.bad(f"{where}: bad float {v['v']!r}.")
        return float(v["v"])

    def _d_np_scalar(self, v: dict, where: str) -> Any:
        if "key" in v:
            a = self.array(v["key"], where)
            if a.ndim != 0 or a.dtype.kind not in "Mm":
                raise self.bad(f"{where}: array {v['key']!r} is not a datetime64 / timedelta64 scalar.")
            return a[()]
        dtype = np.dtype(v["dtype"])
        if dtype.kind not in "biuf":
            raise self.bad(f"{where}: bad scalar type {v['dtype']!r}.")
        return dtype.type(self.decode(v["v"], where))

    def _d_tuple(self, v: dict, where: str) -> tuple:
        return tuple(self.decode(x, where) for x in v["v"])

    def _d_dict(self, v: dict, where: str) -> dict:
        return {self.decode(k, f"{where} key"): self.decode(x, f"{where}[{k!r}]") for k, x in v["v"]}

    def _d_set(self, v: dict, where: str) -> set:
        return {self.decode(x, where) for x in v["v"]}

    def _d_frozenset(self, v: dict, where: str) -> frozenset:
        return frozenset(self._d_set(v, where))

    def _d_datetime(self, v: dict, where: str) -> dt.datetime:
        return dt.datetime.fromisoformat(v["v"])

    def _d_date(self, v: dict, where: str) -> dt.date:
        return dt.date.fromisoformat(v["v"])

    def _d_timedelta(self, v: dict, where: str) -> dt.timedelta:
        return dt.timedelta(days=v["days"], seconds=v["seconds"], microseconds=v["microseconds"])

    def _d_path(self, v: dict, where: str) -> Path:
        return Path(v["v"])

    def _d_ndarray(self, v: dict, where: str) -> np.ndarray:
        a = self.array(v["key"], where)
        if v.get("object") == "str":
            if a.dtype.kind != "U":
                raise self.bad(f"{where}: array {v['key']!r} should hold text.")
            return a.astype(object)
        return a

    def _d_object_array(self, v: dict, where: str) -> np.ndarray:
        items = [self.decode(x, where) for x in v["v"]]
        out = np.empty(len(items), dtype=object)
        out[:] = items
        return out.reshape(tuple(v["shape"]))

    def _d_sparse(self, v: dict, where: str) -> Any:
        cls = _SPARSE.get(v["class"])
        if cls is None:
            raise self.bad(f"{where}: unknown sparse format {v['class']!r}.")
        fmt = v["class"][:3]
        names = _SPARSE_PARTS[fmt]
        if set(v["parts"]) != set(names):
            raise self.bad(f"{where}: a {v['class']} needs the parts {list(names)}; got {sorted(v['parts'])}.")
        shape = v["shape"]
        if not (isinstance(shape, list) and len(shape) == 2 and all(type(s) is int and s >= 0 for s in shape)):
            raise self.bad(f"{where}: a sparse shape must be two ints >= 0; got {shape!r}.")
        if not isinstance(v.get("canonical"), bool):
            raise self.bad(f"{where}: 'canonical' must be true or false.")
        parts = {p: self.array(v["parts"][p], f"{where}.{p}") for p in names}
        files = ", ".join(array_file(v["parts"][p]) for p in names)
        label = f"{self.path}: {where} (a {v['class']} of shape {shape} in {files})"
        if fmt == "coo":
            check_coo((shape[0], shape[1]), parts["data"], parts["row"], parts["col"], file=label)
            m = cls((parts["data"], (parts["row"], parts["col"])), shape=tuple(shape))
            m.row, m.col = parts["row"], parts["col"]  # the saved index types, not scipy's choice
            return m
        check_compressed((shape[0], shape[1]), parts["data"], parts["indices"], parts["indptr"], by_rows=fmt == "csr", canonical=v["canonical"], file=label)
        m = cls((parts["data"], parts["indices"], parts["indptr"]), shape=tuple(shape))
        m.indices, m.indptr = parts["indices"], parts["indptr"]
        if v["canonical"]:
            m.has_canonical_format = True  # checked above: scipy need not sort again
        return m

    def _d_frame(self, v: dict, where: str) -> pl.DataFrame:
        return self.frame(v["file"], where)

    def _d_series(self, v: dict, where: str) -> pl.Series:
        df = self.frame(v["file"], where)
        if df.width != 1:
            raise self.bad(f"{where}: a series file must hold one column.")
        return df.to_series().alias(v["name"])

    def _d_idmap(self, v: dict, where: str) -> IdMap:
        return IdMap(self.decode(v["ids"], where), name=v["name"])

    def _d_dataclass(self, v: dict, where: str) -> Any:
        cls = DATACLASSES.get(v["class"])
        if cls is None:
            raise self.bad(f"{where}: unknown class {v['class']!r} (known: {sorted(DATACLASSES)}).")
        if not isinstance(v["fields"], dict):
            raise self.bad(f"{where}: 'fields' must be an object.")
        fields = {k: self.decode(x, f"{where}.{k}") for k, x in v["fields"].items()}
        return cls(**fields)

    def _d_ruleset(self, v: dict, where: str) -> RuleSet:
        if not isinstance(v["config"], dict):
            raise self.bad(f"{where}: 'config' must be an object.")
        rs = RuleSet(**{k: self.decode(x, f"{where}.{k}") for k, x in v["config"].items()})
        if v["dataset"] is not None:
            rs.fit(self.decode(v["dataset"], f"{where}.dataset_"))  # compiled masks: rebuilt, not stored
        return rs

    def _d_dataset(self, v: dict, where: str) -> Dataset:
        ref = v["ref"]
        if ref in self.datasets:
            return self.datasets[ref]
        entries = self.doc["datasets"]
        if not isinstance(ref, int) or isinstance(ref, bool) or not 0 <= ref < len(entries):
            raise self.bad(f"{where}: no dataset number {ref!r}.")
        attrs = entries[ref]
        if not isinstance(attrs, dict):
            raise self.bad(f"dataset {ref}: expected an object.")
        if set(attrs) != set(_DATASET_TYPES):
            raise self.bad(f"dataset {ref}: expected the attributes {sorted(_DATASET_TYPES)}; got {sorted(attrs)}.")
        values = {k: self.decode(x, f"dataset {ref}.{k}") for k, x in attrs.items()}
        for k, types in _DATASET_TYPES.items():
            if not isinstance(values[k], types):
                raise self.bad(f"dataset {ref}.{k}: expected {' or '.join(t.__name__ for t in types)}; got {type(values[k]).__name__}.")
        self._check_dataset(values, f"dataset {ref}", attrs["interactions"].get("file", MODEL_JSON))
        ds = Dataset.__new__(Dataset)
        vars(ds).update(values)
        vars(ds).update({k: fresh() for k, fresh in _DATASET_CACHES.items()})
        self.datasets[ref] = ds
        return ds

    def _check_dataset(self, values: dict[str, Any], where: str, file: str) -> None:
        """The saved interactions (in ``file``) point into the saved id maps and baskets (an edited table does not)."""
        inter: pl.DataFrame = values["interactions"]
        n_baskets = len(values["_basket_customer"])
        bounds = {"customer_idx": len(values["customer_ids"]), "item_idx": len(values["item_ids"]), "basket_idx": n_baskets}
        for col, bound in bounds.items():
            if col not in inter.columns or not inter[col].dtype.is_integer():
                raise self.bad(f"{where}.interactions: no integer column {col!r}.", file)
            s = inter[col]
            if s.null_count() or (len(s) and not (0 <= int(s.min()) and int(s.max()) < bound)):  # type: ignore[arg-type]
                raise self.bad(f"{where}.interactions: {col} must hold values in [0, {bound}) without nulls.", file)
        bc, bt = values["_basket_customer"], values["_basket_time"]
        if bc.ndim != 1 or bc.dtype.kind not in "iu" or (len(bc) and not (0 <= bc.min() and bc.max() < bounds["customer_idx"])):
            raise self.bad(f"{where}: each basket's customer must be an index in [0, {bounds['customer_idx']}).")
        if bt is not None and bt.shape != bc.shape:
            raise self.bad(f"{where}: {len(bt)} basket times for {n_baskets} baskets.")

    def _d_model(self, v: dict, where: str) -> Recommender:
        return self.model(v["ref"], where)

    def _construct(self, cls: type[Recommender], saved: dict[str, Any], where: str) -> Recommender:
        """A model built from its saved parameters: exactly its declared ones, each validated."""
        names = cls.param_names()
        unknown = [k for k in saved if k not in names]
        missing = [k for k in names if k not in saved]
        if unknown or missing:
            parts = ([f"unknown parameter(s) {unknown}"] if unknown else []) + ([f"missing parameter(s) {missing}"] if missing else [])
            raise self.bad(f"{where}: the saved parameters do not fit {cls.__name__}: {'; '.join(parts)} (its parameters are {names}).")
        params = {k: self.decode(x, f"{where}.{k}") for k, x in saved.items()}
        try:
            return cls(**params)
        except ConfigError as exc:
            raise self.bad(f"{where}: a saved parameter of {cls.__name__} is invalid: {exc}") from None
        except TypeError as exc:
            raise self.bad(f"{where}: the saved parameters do not fit {cls.__name__} ({exc}).") from None

    def model(self, ref: Any, where: str) -> Recommender:
        if isinstance(ref, int) and ref in self.models:
            return self.models[ref]
        entries = self.doc["models"]
        if not isinstance(ref, int) or isinstance(ref, bool) or not 0 <= ref < len(entries):
            raise self.bad(f"{where}: no model number {ref!r}.")
        if ref in self.building:
            raise self.bad(f"{where}: model {ref} contains itself.")
        self.building.add(ref)
        entry = entries[ref]
        if not isinstance(entry, dict) or not {"class", "params", "state"} <= set(entry):
            raise self.bad(f"model {ref}: expected an object with 'class', 'params' and 'state'.")
        name = entry["class"]
        cls = MODELS.get(name) if isinstance(name, str) else None
        if cls is None:
            raise self.bad(f"model {ref}: unknown model class {name!r}; recokit loads only {sorted(MODELS)}.")
        where = f"{where} ({name})"
        if not isinstance(entry["params"], dict):
            raise self.bad(f"{where}: 'params' must be an object.")
        m = self._construct(cls, entry["params"], where)
        if entry["state"] is not None:
            if not isinstance(entry["state"], dict):
                raise self.bad(f"{where}: 'state' must be an object.")
            bad_names = [k for k in entry["state"] if not k.isidentifier() or k.startswith("__") or k in entry["params"]]
            if bad_names:
                raise self.bad(f"{where}: bad attribute name(s) {bad_names}.")
            # an instance attribute named like a method or property would replace it on this object
            shadowing = [k for k in entry["state"] if any(k in vars(c) for c in cls.__mro__)]
            if shadowing:
                raise self.bad(f"{where}: the saved attribute(s) {shadowing} are named like methods or properties of {name}; loading never replaces them.")
            state = {k: self.decode(x, f"{where}.{k}") for k, x in entry["state"].items()}
            if not isinstance(state.get("dataset_"), Dataset):
                raise self.bad(f"{where}: the fitted state has no dataset_.")
            if hasattr(m, "_set_state"):
                m._set_state(state)
            else:
                vars(m).update(state)
        self.building.discard(ref)
        self.models[ref] = m
        return m
