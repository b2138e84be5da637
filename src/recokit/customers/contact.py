"""The right moment to contact: :func:`contact_plan`.

A plan covers the **period** of ``max_per_customer_days`` days from the day ``on`` (that day
included) and holds **at most one message per customer**: when a customer qualifies for several
kinds, the first kind of ``kinds`` wins (default priority, most urgent first):

================  ==============================================================================
kind              who, and when
================  ==============================================================================
abandoned_cart    added a product to the cart at least 24 h before ``on`` and at most
                  ``cart_days`` (7) days before, and has not bought it since; sent 24 h after
                  the cart add (or on ``on`` if that is later). Needs web events (an ``event``
                  column with ``add_to_cart`` rows).
renewal           a category (``category_column``, default ``category``) they renew falls
                  due in the period (or is overdue by at most half a cycle): last purchase +
                  cycle. The cycle is the customer's own median gap between purchases of the
                  category (at least 2 gaps of >= 14 days, spread (max - min) at most their
                  median: a rhythm, not chance), else the learnt cycle of the category
                  (``cycles``, or the ``intervals_`` of a fitted :class:`~recokit.Renewal` --
                  or a Ruled around one -- passed as ``recommender``: its median). With
                  learnt cycles, only their renewable categories count.
onboarding        first order in the last ``max_per_customer_days`` days (new since the last
                  plan): a welcome.
season            the plan's month is one of the ``lead_months`` (3) months before the season
                  of a sport (``season_column``; default ``sport``, else the category) the
                  customer bought in its season before (a sport, not each product: skis sell
                  from November, ski jackets from December, and a skier hears of the ski season
                  once). A season is learnt from the sales curve: purchase lines per calendar
                  month (per day of that month in the history), the shortest run of
                  consecutive months holding ``season_share`` (75 %) of them, when it is at
                  most 5 months long and rests on at least 30 lines (the shop's ski gear:
                  Dec-Feb, so skiers hear of it in Sep-Nov and never in Apr-Jun). Needs a
                  history of at least 365 days.
reengagement      overdue from their own rhythm: :func:`~recokit.customers.lifecycle` stage
                  ``at_risk`` or ``dormant`` at ``on`` ("welcome back"; ``lost`` customers
                  are not chased).
================  ==============================================================================

**Consent.** Only customers whose ``consent`` column (default ``consent_email``; several
columns: all of them) of the customers table is true are in the plan: false, null or no row
means no message, whatever the kind (a DataError when the dataset has no such column). Every
kind is built from the customer's own history, so a shop that asks a separate consent to
personalisation passes both columns.

**Items.** With a fitted ``recommender`` (any object with ``recommend_many``: a model, a
hybrid, a :class:`~recokit.Ruled`), each message lists up to ``items_per_message`` products
with their reasons: for renewal and season, the recommender's candidates of the message's
categories (fewer, or none, rather than padding with unrelated products); for abandoned carts,
the products left in the cart first ("in your cart since ...": the customer's own choice,
listed as it is -- the shop's rules apply to the recommender's products), then the
recommender's best; otherwise its best. ``rules`` (a :class:`~recokit.RuleSet`) wraps the recommender in
``rules.wrap(recommender)`` fitted on ``dataset`` (the model is refitted; pass a fitted Ruled
instead to avoid that). Without a recommender ``items`` is empty except for cart items.

**Memory.** A plan does not know what was sent before unless told: ``sent`` (a frame with
``customer_id`` and ``when``) leaves out the customers contacted less than
``max_per_customer_days`` days before ``on``, so plans run every day or week keep the spacing.

Nothing after ``on`` is read (a date counts its whole day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from recokit._errors import ConfigError, ConfigTypeError, DataError
from recokit.customers.features import base_table
from recokit.customers.lifecycle import lifecycle
from recokit.customers.orders import Reference, purchase_lines, reference
from recokit.data import DAY_US, NO_GROUP, Dataset, item_labels

__all__ = ["KINDS", "contact_plan", "season_table"]

#: The kinds of message, in their default priority (the first a customer qualifies for wins).
KINDS: tuple[str, ...] = ("abandoned_cart", "renewal", "onboarding", "season", "reengagement")
_EPOCH = dt.date(1970, 1, 1)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MIN_GAP_DAYS = 14
_MIN_OWN_GAPS = 2
_MAX_SEASON_MONTHS = 5
_MIN_SEASON_LINES = 30
_REENGAGE = ("at_risk", "dormant")


def _date(day: pl.Expr) -> pl.Expr:
    return day.cast(pl.Int32).cast(pl.Date)


def _nice(column: pl.Expr) -> pl.Expr:
    return column.str.replace_all("_", " ")


# -- abandoned carts -------------------------------------------------------------------------
def _abandoned(dataset: Dataset, ref: Reference, cart_days: int, labels: pl.Series) -> pl.DataFrame:
    """``customer_idx, when, reason, cart`` (the cart items' idx, latest first)."""
    at_us = int(np.datetime64(ref.at, "us").astype(np.int64))
    rows = dataset.interactions.lazy().filter(pl.col("timestamp") <= ref.at).select(
        "customer_idx", "item_idx", "event", pl.col("timestamp").cast(pl.Int64).alias("t")
    )
    adds = rows.filter((pl.col("event") == "add_to_cart") & (pl.col("t") + DAY_US <= at_us) & (pl.col("t") >= at_us - cart_days * DAY_US)).collect().with_row_index("k")
    buys = rows.filter(pl.col("event") == "purchase").select("customer_idx", "item_idx", pl.col("t").alias("bt")).collect()
    bought = adds.join(buys, on=["customer_idx", "item_idx"]).filter(pl.col("bt") >= pl.col("t"))["k"].unique()  # this cart add was bought
    left = adds.filter(~pl.col("k").is_in(bought.implode())).group_by("customer_idx", "item_idx").agg(pl.col("t").max())
    names = pl.DataFrame({"item_idx": np.arange(labels.len(), dtype=np.int64), "label": labels})
    left = left.join(names, on="item_idx", how="left")
    when = ((pl.col("t").max() + DAY_US) // DAY_US).cast(pl.Int32)
    stamp = pl.col("t").cast(pl.Datetime("us")).dt.strftime("%Y-%m-%d %H:%M")
    per = left.sort("customer_idx", "t", "item_idx", descending=[False, True, False]).group_by("customer_idx", maintain_order=True).agg(
        pl.max_horizontal(when, pl.lit(ref.day)).alias("when"),
        pl.format("left {} in the cart on {}", pl.col("label"), stamp).str.join("; ").alias("what"),
        pl.col("item_idx").alias("cart"),
        pl.col("t").alias("cart_t"),
    )
    return per.with_columns(pl.format("abandoned cart: {}, not bought since", pl.col("what")).alias("reason")).drop("what")


# -- renewals --------------------------------------------------------------------------------
def _learnt_cycles(cycles: Any, recommender: Any) -> pl.DataFrame | None:
    inner = getattr(recommender, "model_", None)  # a Ruled around a Renewal lends its cycles too
    table = cycles if cycles is not None else getattr(recommender, "intervals_", getattr(inner, "intervals_", None))
    if table is None:
        return None
    if not isinstance(table, pl.DataFrame) or not {"category", "median_days", "renewable"} <= set(table.columns):
        raise ConfigError(
            "cycles must be a polars frame with columns category, median_days, renewable (a fitted Renewal's intervals_).",
            hint="pass cycles=Renewal().fit(dataset).intervals_, or leave it out to use each customer's own gaps.",
        )
    return table.filter(pl.col("renewable")).select(pl.col("category").cast(pl.String).alias("group"), pl.col("median_days").cast(pl.Float64).alias("learnt"))


def _renewals(lines: pl.DataFrame, names: pl.DataFrame, ref: Reference, period: int, learnt: pl.DataFrame | None) -> pl.DataFrame:
    """``customer_idx, when, reason, groups`` of the categories due in the period (``lines``
    carry integer group codes, ``names`` maps them to the values)."""
    days = lines.lazy().select("customer_idx", "group", "day").unique().sort("customer_idx", "group", "day")
    same = (pl.col("customer_idx") == pl.col("customer_idx").shift(1)) & (pl.col("group") == pl.col("group").shift(1))
    gaps = days.with_columns(pl.when(same).then(pl.col("day") - pl.col("day").shift(1)).alias("gap"))  # sorted: no window per group
    g = pl.col("gap").filter(pl.col("gap") >= _MIN_GAP_DAYS)
    per = gaps.group_by("customer_idx", "group").agg(
        pl.col("day").max().alias("last"), g.len().alias("n_gaps"), g.median().alias("median"), (g.max() - g.min()).alias("spread")
    ).collect()
    regular = (pl.col("n_gaps") >= _MIN_OWN_GAPS) & (pl.col("spread") <= pl.col("median"))
    per = per.with_columns(pl.when(regular).then(pl.col("median")).alias("own"))
    if learnt is not None:
        per = per.join(learnt.join(names, left_on="group", right_on="name").select(pl.col("code").alias("group"), "learnt"), on="group", how="inner")
    else:
        per = per.with_columns(pl.lit(None, dtype=pl.Float64).alias("learnt"))
    per = per.with_columns(pl.coalesce("own", "learnt").alias("cycle")).drop_nulls("cycle")
    per = per.with_columns((pl.col("last") + pl.col("cycle").round(0).cast(pl.Int32)).alias("due"))
    due = per.filter((pl.col("due") < ref.day + period) & (pl.col("due") >= ref.day - pl.col("cycle") / 2))
    due = due.join(names, left_on="group", right_on="code").drop("group").rename({"name": "group"})
    months = (pl.col("cycle") / (365.25 / 12)).round(0).cast(pl.Int64)
    every = pl.when(pl.col("cycle") >= 60).then(pl.format("{} months", months)).otherwise(pl.format("{} days", pl.col("cycle").round(0).cast(pl.Int64)))
    whose = pl.when(pl.col("own").is_not_null()).then(pl.format("your own rhythm over {} purchases", pl.col("n_gaps") + 1)).otherwise(pl.lit("the shop's learnt cycle"))
    text = pl.format("{} last bought {} ({} days ago), renewed every {} ({})", _nice(pl.col("group")), _date(pl.col("last")).cast(pl.String), ref.day - pl.col("last"), every, whose)
    agg = due.sort("customer_idx", "due", "group").group_by("customer_idx", maintain_order=True).agg(
        pl.max_horizontal(pl.col("due").min(), pl.lit(ref.day)).alias("when"), text.str.join("; ").alias("what"), pl.col("group").alias("groups")
    )
    return agg.with_columns(pl.format("renewal due: {}", pl.col("what")).alias("reason")).drop("what")


# -- seasons ---------------------------------------------------------------------------------
def _month_exposure(first_day: int, last_day: int) -> np.ndarray:
    """How many days of each calendar month the history ``[first_day, last_day]`` holds."""
    days = np.arange(first_day, last_day + 1).astype("datetime64[D]")
    return np.bincount(days.astype("datetime64[M]").astype(np.int64) % 12, minlength=12).astype(np.float64)


def _shortest_run(share: np.ndarray, target: float) -> tuple[int, int, float]:
    """The shortest circular run of months (start, length, its share) holding ``target`` of
    ``share``; ties: the larger share, then the earlier start."""
    for length in range(1, 13):
        sums = np.asarray([share[(s + np.arange(length)) % 12].sum() for s in range(12)])
        best = int(np.argmax(sums))
        if sums[best] >= target - 1e-12:
            return best, length, float(sums[best])
    return 0, 12, 1.0  # pragma: no cover - the twelve months hold everything


def season_table(lines: pl.DataFrame, first_day: int, last_day: int, season_share: float = 0.75) -> pl.DataFrame:
    """Each group's learnt season from its sales curve (see the module docstring):
    ``group, lines, start_month, months, share, seasonal`` (months 1-12; ``lines`` holds
    ``group`` and ``day``, the day number of each purchase line)."""
    exposure = _month_exposure(first_day, last_day)
    month = _date(pl.col("day")).dt.month().cast(pl.Int64) - 1
    counts = lines.group_by("group", month.alias("m")).agg(pl.len().alias("n")).sort("group", "m")
    rows = []
    for group, part in counts.group_by("group", maintain_order=True):
        n = np.zeros(12)
        n[part["m"].to_numpy()] = part["n"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(exposure > 0, n / exposure, 0.0)
        total = int(n.sum())
        start, length, share = _shortest_run(rate / rate.sum(), season_share) if rate.sum() > 0 else (0, 12, 1.0)
        rows.append((group[0], total, start + 1, length, share, total >= _MIN_SEASON_LINES and length <= _MAX_SEASON_MONTHS))
    schema: dict[str, Any] = {"group": lines.schema["group"], "lines": pl.Int64, "start_month": pl.Int64, "months": pl.Int64, "share": pl.Float64, "seasonal": pl.Boolean}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _seasons(lines: pl.DataFrame, names: pl.DataFrame, ref: Reference, first_day: int, lead_months: int, season_share: float) -> pl.DataFrame:
    """``customer_idx, when, reason, groups`` of the seasons ahead of the plan's month."""
    table = season_table(lines, first_day, ref.day, season_share).filter("seasonal")
    month0 = (_EPOCH + dt.timedelta(days=ref.day)).month  # 1-12
    ahead = (pl.col("start_month") - month0) % 12  # months from the plan's month to the season
    table = table.filter((ahead >= 1) & (ahead <= lead_months))
    if table.is_empty():
        return pl.DataFrame(schema={"customer_idx": pl.Int64, "when": pl.Int32, "groups": pl.List(pl.String), "reason": pl.String})
    m = _date(pl.col("day")).dt.month().cast(pl.Int64)
    in_season = ((m - pl.col("start_month")) % 12) < pl.col("months")
    own = lines.join(table, on="group").filter(in_season).join(names, left_on="group", right_on="code").drop("group").rename({"name": "group"}).group_by("customer_idx", "group").agg(pl.col("day").max().alias("last"), pl.col("start_month").first(), pl.col("months").first(), pl.col("share").first())
    months = pl.Series(_MONTHS)
    span = pl.format("{}-{}", pl.col("start_month").sub(1).replace_strict(range(12), months), ((pl.col("start_month") + pl.col("months") - 2) % 12).replace_strict(range(12), months))
    text = pl.format("{} ({} % of its sales in {}; you bought some in {})", _nice(pl.col("group")), (pl.col("share") * 100).round(0).cast(pl.Int64), span, _date(pl.col("last")).dt.strftime("%b %Y"))
    agg = own.sort("customer_idx", "group").group_by("customer_idx", maintain_order=True).agg(text.str.join("; ").alias("what"), pl.col("group").alias("groups"))
    return agg.with_columns(pl.lit(ref.day, dtype=pl.Int32).alias("when"), pl.format("season ahead: {}", pl.col("what")).alias("reason")).drop("what")


# -- onboarding and re-engagement ------------------------------------------------------------
def _onboarding(dataset: Dataset, ref: Reference, period: int) -> pl.DataFrame:
    base = base_table(dataset, ref, "units", gaps=False)
    new = base.filter(pl.col("tenure_days") < period)
    first = _date(pl.lit(ref.day) - pl.col("tenure_days")).cast(pl.String)
    orders = pl.when(pl.col("lifetime_orders") == 1).then(pl.lit("1 order")).otherwise(pl.format("{} orders", pl.col("lifetime_orders")))
    return new.select("customer_idx", pl.lit(ref.day, dtype=pl.Int32).alias("when"), pl.format("welcome: first order on {} ({} so far)", first, orders).alias("reason"))


def _reengagement(dataset: Dataset, ref: Reference) -> pl.DataFrame:
    stages = lifecycle(dataset, at=ref.at).with_row_index("customer_idx").with_columns(pl.col("customer_idx").cast(pl.Int64))
    return stages.filter(pl.col("stage").is_in(list(_REENGAGE))).select(
        "customer_idx", pl.lit(ref.day, dtype=pl.Int32).alias("when"), pl.format("welcome back: {}", pl.col("reason")).alias("reason")
    )


# -- the plan --------------------------------------------------------------------------------
def _consenting(dataset: Dataset, consent: str | Sequence[str]) -> np.ndarray:
    """A mask over ``customer_idx``: true where every ``consent`` column of the customers table is true."""
    names = [consent] if isinstance(consent, str) else list(consent) if isinstance(consent, list | tuple) else None
    if not names or not all(isinstance(c, str) for c in names):
        raise ConfigError(f"consent must name Boolean columns of the customers table. Got {consent!r}.", hint='e.g. consent="consent_email".')
    mask = np.ones(dataset.n_customers, dtype=bool)
    for name in names:
        mask &= _consent_column(dataset, name)
    return mask


def _consent_column(dataset: Dataset, consent: str) -> np.ndarray:
    table = dataset.customers
    if table is None or consent not in table.columns:
        raise DataError(
            f"contact_plan needs e-mail consent: the dataset's customers table has no column {consent!r}, and no customer is contacted without consent.",
            column=consent,
            hint="build the Dataset with customers=... holding a true/false consent column, or name it with consent='...'.",
        )
    if table.schema[consent] != pl.Boolean:
        raise DataError(f"consent column {consent!r} must be true/false (Boolean). Got {table.schema[consent]}.", column=consent, hint="cast it to Boolean (null = no consent).")
    agreed = table.filter(pl.col(consent))["customer_id"]
    return dataset.customer_ids.series.is_in(agreed.implode()).fill_null(False).to_numpy()


def _kinds(kinds: Sequence[str] | None, dataset: Dataset, columns: dict[str, str | None], ref: Reference, first_day: int) -> list[str]:
    """The kinds to plan, in priority order; an explicitly asked kind the data cannot support
    is a DataError (a default kind the data cannot support is left out, as documented)."""
    has_carts = "event" in dataset.interactions.columns and bool((dataset.interactions["event"] == "add_to_cart").any())
    needs = {
        "abandoned_cart": (has_carts, "web events: an event column with 'add_to_cart' rows (Dataset(event_col=...))"),
        "renewal": (columns["renewal"] is not None, "a catalogue column of categories (category_column=...)"),
        "season": (columns["season"] is not None and ref.day - first_day + 1 >= 365, "a catalogue column to learn seasons on (season_column=...) and a history of at least 365 days"),
    }
    if kinds is None:
        return [k for k in KINDS if needs.get(k, (True, ""))[0]]
    if isinstance(kinds, str) or not all(isinstance(k, str) for k in kinds) or len(set(kinds)) != len(list(kinds)) or not set(kinds) <= set(KINDS):
        raise ConfigError(f"kinds must be a list of distinct kinds among {list(KINDS)} (priority order). Got {kinds!r}.")
    for k in kinds:
        ok, what = needs.get(k, (True, ""))
        if not ok:
            raise DataError(f"contact_plan: kind {k!r} needs {what}, which this dataset lacks.", hint=f"leave {k!r} out of kinds (kinds=None plans every kind the data supports).")
    return list(kinds)


def _recently_sent(dataset: Dataset, sent: Any, ref: Reference, period: int) -> np.ndarray:
    """A mask over ``customer_idx``: contacted less than ``period`` days before ``on``."""
    out = np.zeros(dataset.n_customers, dtype=bool)
    if sent is None:
        return out
    if not isinstance(sent, pl.DataFrame) or not {"customer_id", "when"} <= set(sent.columns):
        raise ConfigError("sent must be a polars frame with columns customer_id and when (the messages already sent).", hint="e.g. a previous plan's rows.")
    when = sent["when"].cast(pl.Date).cast(pl.Int32)
    recent = sent.filter(((ref.day - when) < period) & (when <= ref.day))["customer_id"]
    out[dataset.customer_ids.series.is_in(recent.implode()).fill_null(False).to_numpy()] = True
    return out


def _grouped(dataset: Dataset, lines: pl.DataFrame, column: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The purchase lines with ``group``: the code of the item's value of catalogue ``column``
    (codes in the values' sorted order: integers sort and group fast), and ``code, name``."""
    values = dataset.catalog[column].cast(pl.String).fill_null(NO_GROUP)
    names = sorted(values.unique().to_list())
    lookup = {v: i for i, v in enumerate(names)}
    codes = np.fromiter((lookup[v] for v in values.to_list()), dtype=np.int32, count=len(values))
    return (
        lines.select("customer_idx", pl.col("day"), pl.Series(codes).gather(lines["item_idx"]).alias("group")),
        pl.DataFrame({"code": np.arange(len(names), dtype=np.int32), "name": names}),
    )


def _candidates(dataset: Dataset, ref: Reference, kinds: list[str], columns: dict[str, str | None], options: dict[str, Any]) -> pl.DataFrame:
    """Every message a customer qualifies for: ``customer_idx, kind, when, reason, groups, cart, cart_t, priority``."""
    period = options["period"]
    lines = purchase_lines(dataset, ref, "units") if "renewal" in kinds or "season" in kinds else None
    first_day = options["first_day"]
    parts = []
    for priority, kind in enumerate(kinds):
        if kind == "abandoned_cart":
            part = _abandoned(dataset, ref, options["cart_days"], options["labels"])
        elif kind == "renewal":
            part = _renewals(*_grouped(dataset, lines, columns["renewal"]), ref, period, options["learnt"])  # type: ignore[arg-type]
        elif kind == "season":
            part = _seasons(*_grouped(dataset, lines, columns["season"]), ref, first_day, options["lead_months"], options["season_share"])  # type: ignore[arg-type]
        elif kind == "onboarding":
            part = _onboarding(dataset, ref, period)
        else:
            part = _reengagement(dataset, ref)
        part = part.with_columns(pl.lit(kind).alias("kind"), pl.lit(priority).alias("priority"), pl.col("customer_idx").cast(pl.Int64), pl.col("when").cast(pl.Int32))
        for name, dtype in (("groups", pl.List(pl.String)), ("cart", pl.List(pl.Int64)), ("cart_t", pl.List(pl.Int64))):
            if name not in part.columns:
                part = part.with_columns(pl.lit(None, dtype=dtype).alias(name))
            part = part.with_columns(pl.col(name).cast(dtype))
        parts.append(part.select("customer_idx", "kind", "when", "reason", "groups", "cart", "cart_t", "priority"))
    return pl.concat(parts)


def _items(dataset: Dataset, plan: pl.DataFrame, recommender: Any, ref: Reference, columns: dict[str, str | None], n: int) -> pl.Series:
    """Each message's ``items`` (list of ``item_id, reason``), in the plan's row order."""
    item_ids = dataset.item_ids.series
    keyed = plan.select("customer_idx", "kind", "groups", "cart", "cart_t").with_row_index("row")
    cart = keyed.select("row", "cart", "cart_t").explode("cart", "cart_t").drop_nulls("cart")
    cart = cart.select(
        "row",
        item_ids.gather(cart["cart"].cast(pl.UInt32)).alias("item_id"),
        pl.format("in your cart since {}", pl.col("cart_t").cast(pl.Datetime("us")).dt.strftime("%Y-%m-%d %H:%M")).alias("reason"),
        (pl.int_range(pl.len()).over("row") - 1_000_000).alias("pos"),
    )
    parts = [cart]
    if recommender is not None and plan.height:
        customers = dataset.customer_ids.series.gather(plan["customer_idx"].cast(pl.UInt32)).to_list()
        wanted = sorted({c for c in columns.values() if c is not None})
        recs = recommender.recommend_many(customers, k=max(10 * n, 30), now=ref.at, columns=wanted or None)
        ids = keyed.with_columns(pl.Series("customer_id", customers, dtype=dataset.customer_ids.series.dtype)).select("row", "customer_id", "kind", "groups")
        got = recs.join(ids, on="customer_id", how="inner").join(cart.select("row", "item_id"), on=["row", "item_id"], how="anti")
        for kind, column in columns.items():  # renewal and season: products of the message's groups only
            if column is not None:
                got = got.filter((pl.col("kind") != kind) | pl.col(column).cast(pl.String).fill_null(NO_GROUP).is_in(pl.col("groups")))
        parts.append(got.select("row", "item_id", pl.col("reason").cast(pl.String), pl.col("rank").cast(pl.Int64).alias("pos")))
    every = pl.concat(parts).sort("row", "pos").group_by("row", maintain_order=True).head(n)
    lists = every.group_by("row").agg(pl.struct("item_id", "reason").alias("items"))
    dtype = pl.List(pl.Struct({"item_id": item_ids.dtype, "reason": pl.String}))
    out = keyed.select("row").join(lists, on="row", how="left").sort("row")["items"].cast(dtype)
    return pl.select(pl.when(out.is_null()).then(pl.lit([], dtype=dtype)).otherwise(out)).to_series().alias("items")


def contact_plan(
    dataset: Dataset,
    *,
    on: Any,
    recommender: Any = None,
    rules: Any = None,
    max_per_customer_days: int = 14,
    kinds: Sequence[str] | None = None,
    consent: str | Sequence[str] = "consent_email",
    category_column: str = "category",
    season_column: str | None = None,
    items_per_message: int = 3,
    cycles: pl.DataFrame | None = None,
    cart_days: int = 7,
    lead_months: int = 3,
    season_share: float = 0.75,
    sent: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Who to contact in the period from ``on``, when, why and with which products.

    Parameters
    ----------
    dataset : Dataset
        With times, a customers table holding ``consent`` and (for renewal and season) a
        catalogue column ``category_column``; web events for abandoned carts.
    on : datetime, date or ISO text
        The first day of the plan; nothing later is read.
    recommender : fitted recommender, optional
        Anything with ``recommend_many`` (a model, a hybrid, a Ruled); a fitted Renewal also
        lends its learnt cycles.
    rules : RuleSet, optional
        The shop's rules: the recommender is wrapped in them (``rules.wrap(recommender)``) and
        fitted on ``dataset``.
    max_per_customer_days : int, default 14
        The plan's period, and the least spacing between two messages to one customer.
    kinds : list of str, optional
        The kinds to plan, in priority order (default :data:`KINDS`, those the data supports).
    consent : str or list of str, default 'consent_email'
        The Boolean column(s) of the customers table; only customers true in every one are
        contacted (e.g. ``["consent_email", "consent_personalization"]`` when messages built
        from purchase history need the consent to personalisation too).
    category_column, season_column, items_per_message, cycles, cart_days, lead_months, season_share, sent
        See the module docstring.

    Returns
    -------
    polars.DataFrame
        ``customer_id, kind, when (Date), reason, items`` (a list of ``item_id, reason``), at
        most one row per customer, sorted by ``when``, priority and customer.

    Examples
    --------
    >>> import polars as pl
    >>> from recokit import Dataset
    >>> from recokit.customers import contact_plan
    >>> rows = pl.DataFrame({"customer_id": ["ann", "ann", "bob", "bob"], "item_id": ["gel", "shoe", "gel", "shoe"],
    ...     "event": ["purchase", "add_to_cart", "purchase", "add_to_cart"],
    ...     "ts": ["2025-06-01 10:00", "2025-06-28 09:30", "2025-06-02 12:00", "2025-06-28 10:00"]})
    >>> people = pl.DataFrame({"customer_id": ["ann", "bob"], "consent_email": [True, False]})
    >>> ds = Dataset(rows.with_columns(pl.col("ts").str.to_datetime()), customers=people, time_col="ts", event_col="event")
    >>> plan = contact_plan(ds, on="2025-06-30")
    >>> plan.select("customer_id", "kind", "when").rows()
    [('ann', 'abandoned_cart', datetime.date(2025, 6, 30))]
    >>> plan["reason"][0]
    'abandoned cart: left shoe in the cart on 2025-06-28 09:30, not bought since'
    """
    ref, period, columns = _check(dataset, on, max_per_customer_days, (category_column, season_column), items_per_message, (cart_days, lead_months, season_share))
    first_day = _first_day(dataset, ref)
    planned = _kinds(kinds, dataset, columns, ref, first_day)
    recommender = _under_rules(dataset, recommender, rules)
    learnt = _learnt_cycles(cycles, recommender) if "renewal" in planned else None
    options = {"period": period, "first_day": first_day, "cart_days": cart_days, "labels": pl.Series(item_labels(dataset), dtype=pl.String),
               "learnt": learnt, "lead_months": lead_months, "season_share": season_share}
    allowed = _consenting(dataset, consent) & ~_recently_sent(dataset, sent, ref, period)
    every = _candidates(dataset, ref, planned, columns, options).filter(pl.col("customer_idx").is_in(pl.Series(np.flatnonzero(allowed).astype(np.int64)).implode()))
    plan = every.sort("customer_idx", "priority", "when").group_by("customer_idx", maintain_order=True).first().sort("when", "priority", "customer_idx")
    items = _items(dataset, plan, recommender, ref, columns, items_per_message)
    ids = dataset.customer_ids.series.gather(plan["customer_idx"].cast(pl.UInt32))
    return pl.DataFrame({"customer_id": ids, "kind": plan["kind"], "when": plan["when"].cast(pl.Date), "reason": plan["reason"], "items": items})


def _first_day(dataset: Dataset, ref: Reference) -> int:
    first = dataset.interactions["timestamp"].min()
    return (first.date() - _EPOCH).days if isinstance(first, dt.datetime) else ref.day


def _under_rules(dataset: Dataset, recommender: Any, rules: Any) -> Any:
    """The recommender, wrapped in the rule set and fitted when there is one (checked)."""
    if rules is not None:
        if recommender is None or not hasattr(rules, "wrap"):
            raise ConfigError("rules need a recommender to apply to, and must be a RuleSet.", hint="pass recommender=... and rules=RuleSet([...]) (or a fitted Ruled as recommender).")
        recommender = rules.wrap(recommender).fit(dataset)
    if recommender is not None and not callable(getattr(recommender, "recommend_many", None)):
        raise ConfigTypeError(f"recommender must be a fitted recokit recommender (with recommend_many). Got {type(recommender).__name__}.")
    return recommender


def _check(dataset: Dataset, on: Any, period: Any, names: tuple[Any, Any], n: Any, more: tuple[Any, Any, Any]) -> tuple[Reference, int, dict[str, str | None]]:
    def positive_int(name: str, v: Any) -> None:
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ConfigError(f"{name} must be an int >= 1. Got {v!r}.")

    if on is None:
        raise ConfigError("contact_plan needs on=: the first day of the plan.", hint="e.g. on='2025-10-06'.")
    ref = reference(dataset, on, None)
    for name, value in (("max_per_customer_days", period), ("items_per_message", n), ("cart_days", more[0]), ("lead_months", more[1])):
        positive_int(name, value)
    if more[1] > 11:
        raise ConfigError(f"lead_months must be at most 11. Got {more[1]!r}.")
    if not isinstance(more[2], int | float) or isinstance(more[2], bool) or not 0 < more[2] < 1:
        raise ConfigError(f"season_share must be a number between 0 and 1 (exclusive). Got {more[2]!r}.")
    category_column, season_column = names
    if not isinstance(category_column, str) or not (season_column is None or isinstance(season_column, str)):
        raise ConfigError(f"category_column and season_column must be catalogue column names. Got {category_column!r} and {season_column!r}.")
    if season_column is None:
        season_column = "sport" if "sport" in dataset.catalog.columns else category_column
    elif season_column not in dataset.catalog.columns:
        raise DataError(f"season_column: the catalogue has no column {season_column!r}.", hint=f"choose among {dataset.catalog.columns}.")
    present = dataset.catalog.columns
    return ref, int(period), {"renewal": category_column if category_column in present else None, "season": season_column if season_column in present else None}
