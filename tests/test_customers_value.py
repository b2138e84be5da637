"""Customer value: the MBG/NBD and Gamma-Gamma fits recover the parameters of data simulated
here from their own generative stories, the expected orders match what the simulated customers
then do, and on the sports shop's temporal split the estimates rank next year's spend and
churn (Spearman and AUC computed with scipy and scikit-learn)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from recokit import ConfigError, Dataset
from recokit.customers import rfm, value
from recokit.customers.value import MBGNBD, fit_gamma_gamma, fit_mbgnbd
from recokit.datasets import sports_shop_tables

TRUE = {"r": 0.8, "alpha": 40.0, "a": 0.6, "b": 2.5}


def _simulate_mbgnbd(n: int, seed: int, horizon: float = 365.0):
    """Customers of the MBG/NBD story: Poisson orders at rate lambda ~ Gamma(r, alpha) while
    alive; after the first order and after each one, gone with p ~ Beta(a, b)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], n)
    p = rng.beta(TRUE["a"], TRUE["b"], n)
    T = rng.uniform(100, 500, n)  # noqa: N806
    gaps = rng.exponential(1.0, (n, 200)) / lam[:, None]
    times = np.cumsum(gaps, axis=1)
    repeats = rng.geometric(p) - 1  # repeat orders made before dropping out (0: gone after the first)
    made = np.arange(200)[None, :] < repeats[:, None]
    cal = made & (times <= T[:, None])
    x = cal.sum(axis=1).astype(float)
    t_x = np.where(cal, times, 0.0).max(axis=1)
    future = (made & (times > T[:, None]) & (times <= T[:, None] + horizon)).sum(axis=1)
    return x, t_x, T, future


def test_mbgnbd_recovers_simulated_parameters_and_predicts_the_holdout():
    x, t_x, T, future = _simulate_mbgnbd(6000, seed=0)  # noqa: N806
    model = fit_mbgnbd(x, t_x, T)
    # what the data identify well: the mean order rate r / alpha and the mean drop-out
    # a / (a + b) (a and b alone trade off against each other from one sample to the next)
    assert model.r / model.alpha == pytest.approx(TRUE["r"] / TRUE["alpha"], rel=0.1)
    assert model.a / (model.a + model.b) == pytest.approx(TRUE["a"] / (TRUE["a"] + TRUE["b"]), rel=0.2)
    assert model.r == pytest.approx(TRUE["r"], rel=0.25)
    expected = model.expected_orders(365.0, x, t_x, T)
    assert expected.mean() == pytest.approx(future.mean(), rel=0.08)
    for lo, hi in ((0, 0), (1, 2), (3, 6), (7, 1000)):  # calibrated at every frequency, not only on average
        group = (x >= lo) & (x <= hi)
        assert expected[group].mean() == pytest.approx(future[group].mean(), rel=0.15), (lo, hi)
    # P(alive) is the share of customers still ordering: compare with those who order again
    alive = model.p_alive(x, t_x, T)
    assert roc_auc_score(future > 0, alive) > 0.75


def test_p_alive_falls_with_silence_and_rises_with_a_recent_order():
    model = MBGNBD(r=0.8, alpha=40.0, a=0.6, b=2.5)
    x, t_x = np.array([3.0, 3.0, 3.0]), np.array([100.0, 100.0, 100.0])
    assert np.all(np.diff(model.p_alive(x, t_x, np.array([100.0, 200.0, 400.0]))) < 0)
    assert np.all(np.diff(model.p_alive(x, np.array([10.0, 100.0, 190.0]), np.full(3, 200.0))) > 0)
    one_order = model.p_alive(np.zeros(2), np.zeros(2), np.array([0.0, 300.0]))
    assert one_order[1] < one_order[0] < 1  # MBG/NBD: a one-order customer can be gone too


def test_gamma_gamma_recovers_simulated_parameters():
    rng = np.random.default_rng(1)
    p, q, gamma = 3.0, 4.0, 60.0
    nu = rng.gamma(q, 1 / gamma, 5000)
    n = rng.integers(1, 12, 5000)
    means = np.array([rng.gamma(p, 1 / v, k).mean() for v, k in zip(nu, n, strict=True)])
    fit = fit_gamma_gamma(n, means)
    assert (fit.p, fit.q, fit.gamma) == pytest.approx((p, q, gamma), rel=0.2)
    # the shop's mean order value for a customer without repeat orders: p gamma / (q - 1)
    assert fit.expected_order_value(np.array([0.0]), np.array([0.0]))[0] == pytest.approx(fit.p * fit.gamma / (fit.q - 1))


@pytest.fixture(scope="module")
def split_shop():
    t = sports_shop_tables(3000, seed=4)
    return Dataset(t.interactions, t.catalog, t.customers, time_col="timestamp", basket_col="order_id", quantity_col="quantity", price_col="price")


def test_on_the_sports_shop_value_ranks_next_years_spend_and_at_risk_finds_who_leaves(split_shop):
    ds, split = split_shop, "2024-12-30"
    at = dt.datetime.combine(dt.date.fromisoformat(split), dt.time.max)
    future = ds.interactions.filter((pl.col("timestamp") > at) & (pl.col("timestamp") <= at + dt.timedelta(days=365)))
    spent = future.group_by("customer_id").agg((pl.col("quantity") * pl.col("price")).sum().alias("spent"))
    v = value(ds, at=split)
    table = v.drop_nulls("ltv").join(spent, on="customer_id", how="left").with_columns(pl.col("spent").fill_null(0.0))
    table = table.join(rfm(ds, at=split).select("customer_id", "recency_days", "monetary"), on="customer_id")
    rho = spearmanr(table["ltv"], table["spent"]).statistic
    naive = spearmanr(table["monetary"], table["spent"]).statistic  # "next year = last year"
    left = (table["spent"] == 0).to_numpy()
    auc = roc_auc_score(left, table["at_risk"])
    assert rho >= 0.25 and rho > naive + 0.1
    assert auc >= 0.72
    by_shop = value(ds, at=split, order_value="shop").drop_nulls("ltv").join(table.select("customer_id", "spent"), on="customer_id")
    assert spearmanr(by_shop["ltv"], by_shop["spent"]).statistic >= 0.35


def test_value_has_one_row_per_customer_and_nulls_for_prospects(split_shop):
    v = value(split_shop, at="2024-06-30")
    assert v.height == split_shop.n_customers and v["customer_id"].equals(split_shop.customer_ids.series, check_names=False)
    no_order = rfm(split_shop, at="2024-06-30").filter(pl.col("segment") == "prospect")["customer_id"]
    assert v.filter(pl.col("customer_id").is_in(no_order.implode()))["ltv"].null_count() == no_order.len()
    known = v.drop_nulls("ltv")
    assert (known["at_risk"] + known["p_alive"] - 1).abs().max() < 1e-12 and (known["ltv"] >= 0).all()
    assert known["reason"][0].startswith("expects ")
    for bad in ({"horizon_days": 0}, {"order_value": "mean"}):
        with pytest.raises(ConfigError):
            value(split_shop, **bad)
