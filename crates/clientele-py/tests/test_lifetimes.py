"""The bindings against the Python `lifetimes` package 0.11.3 on the CDNOW sample.

Both sides run here, on the same data: lifetimes' own summary, fits and predictions against
Clientele's through the bindings. Formulas are compared at the same parameters (lifetimes'
estimates loaded into a Clientele model) to 1e-8 relative; fitted parameters to 1e-6 relative.
"""
import numpy as np
import pytest

import clientele
from conftest import CALIBRATION_END

lifetimes = pytest.importorskip("lifetimes")


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


@pytest.fixture(scope="module")
def ours(cdnow_events):
    s = clientele.summary(cdnow_events, CALIBRATION_END, period="day", time_unit="week")
    return s.to_pandas().sort_values("customer_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def theirs(cdnow_frame):
    from lifetimes.utils import summary_data_from_transaction_data

    s = summary_data_from_transaction_data(cdnow_frame, "customer_id", "date", monetary_value_col="amount",
                                           observation_period_end=CALIBRATION_END, freq="D")
    s["recency"] = s["recency"] / 7.0
    s["T"] = s["T"] / 7.0
    return s.reset_index().sort_values("customer_id").reset_index(drop=True)


def test_summary_equals_lifetimes(ours, theirs):
    assert len(ours) == len(theirs) == 2357
    assert (ours["customer_id"].to_numpy() == theirs["customer_id"].to_numpy()).all()
    for col in ["frequency", "recency", "T"]:
        np.testing.assert_array_equal(ours[col].to_numpy(), theirs[col].to_numpy(), err_msg=col)
    # the mean repeat spend: lifetimes divides a float sum, so compare to the last bits
    np.testing.assert_allclose(ours["monetary_value"].to_numpy(), theirs["monetary_value"].to_numpy(),
                               rtol=1e-12, atol=0)
    # the published checks (Fader, Hardie & Lee 2005 via the reference README)
    assert ours["frequency"].sum() == 2457
    assert (ours["frequency"] > 0).sum() == 946


@pytest.fixture(scope="module")
def bgf(theirs):
    return lifetimes.BetaGeoFitter(penalizer_coef=0.0).fit(theirs["frequency"], theirs["recency"], theirs["T"])


@pytest.fixture(scope="module")
def ggf(theirs):
    rep = theirs[theirs["frequency"] > 0]
    return lifetimes.GammaGammaFitter(penalizer_coef=0.0).fit(rep["frequency"], rep["monetary_value"])


def test_bgnbd_parameters(ours, bgf):
    m = clientele.fit(ours, "bgnbd", time_unit="week")
    theirs = [bgf.params_[k] for k in ["r", "alpha", "a", "b"]]
    mine = [m.params[k] for k in ["r", "alpha", "a", "b"]]
    assert rel(mine, theirs) < 1e-6, (mine, theirs)
    assert m.converged
    # Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL -9582.4
    np.testing.assert_allclose(mine, [0.243, 4.414, 0.793, 2.426], atol=5e-4)
    assert abs(m.log_likelihood - (-9582.429)) < 1e-3
    assert all(v is not None and v > 0 for v in m.standard_errors.values())


def test_gamma_gamma_parameters(ours, ggf):
    m = clientele.fit(ours, "gg", time_unit="week")
    theirs = [ggf.params_[k] for k in ["p", "q", "v"]]
    mine = [m.params[k] for k in ["p", "q", "gamma"]]
    assert rel(mine, theirs) < 1e-6, (mine, theirs)
    assert m.fit_info["customers"] == 946
    assert m.fit_info["one_time_buyers_excluded"] == 2357 - 946
    # Fader & Hardie (2013): p = 6.25, q = 3.74, gamma = 15.44
    np.testing.assert_allclose(mine, [6.25, 3.74, 15.44], atol=5e-3)


def test_formulas_at_lifetimes_parameters(theirs, bgf, ggf):
    """P(alive), E[Y(t)], E[M] and CLV at lifetimes' own estimates agree to 1e-8."""
    m = clientele.Model.from_params("bgnbd", **{k: bgf.params_[k] for k in ["r", "alpha", "a", "b"]})
    g = clientele.Model.from_params("gg", p=ggf.params_["p"], q=ggf.params_["q"], gamma=ggf.params_["v"])
    x, tx, t, mv = theirs["frequency"], theirs["recency"], theirs["T"], theirs["monetary_value"]

    assert rel(m.p_alive(x, tx, t), bgf.conditional_probability_alive(x, tx, t)) < 1e-8
    for h in [1.0, 39.0, 52.0]:
        ours_e = m.predict(h, x, tx, t)
        theirs_e = bgf.conditional_expected_number_of_purchases_up_to_time(h, x, tx, t)
        assert rel(ours_e, theirs_e) < 1e-8, h
    assert rel(m.expected_purchases(52.0), bgf.expected_number_of_purchases_up_to_time(52.0)) < 1e-8
    assert rel(g.expected_spend(x, mv), ggf.conditional_expected_average_profit(x, mv)) < 1e-8
    clv_ours = g.customer_lifetime_value(m, x, tx, t, mv, time=12, discount_rate=0.01, freq="W")
    clv_theirs = ggf.customer_lifetime_value(bgf, x, tx, t, mv, time=12, discount_rate=0.01, freq="W")
    assert rel(clv_ours, clv_theirs) < 1e-8


def test_fitted_predictions_follow_parameters(ours, theirs, bgf):
    """With both sides fitting, predictions differ only as much as the estimates do."""
    m = clientele.fit(ours, "bgnbd", time_unit="week")
    x, tx, t = theirs["frequency"], theirs["recency"], theirs["T"]
    assert rel(m.p_alive(x, tx, t), bgf.conditional_probability_alive(x, tx, t)) < 1e-5
    assert rel(m.predict(39.0, x, tx, t), bgf.conditional_expected_number_of_purchases_up_to_time(39.0, x, tx, t)) < 1e-5


def test_published_customer():
    """E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226 (Fader, Hardie & Lee 2005)."""
    m = clientele.Model.from_params("bgnbd", r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert abs(m.predict(39, 2, 30.43, 38.86) - 1.226) < 1e-3
    assert isinstance(m.p_alive(2, 30.43, 38.86), float)


def test_bgbb_published_values_and_checks():
    """BG/BB at Fader, Hardie & Shang (2010)'s donations estimates: P(alive in 2002) for
    (x, t_x) = (0, 0), (2, 4), (6, 6) over n = 6 years is 0.11, 0.59, 0.93."""
    m = clientele.Model.from_params("bgbb", alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
    got = m.p_alive([0, 2, 6], [0, 4, 6], [6, 6, 6])
    np.testing.assert_allclose(got, [0.11, 0.59, 0.93], atol=0.005)
    with pytest.raises(clientele.ClienteleError):
        m.p_alive([1.5], [2], [6])  # not whole periods
    with pytest.raises(clientele.ClienteleError):
        m.predict(5, [3], [2], [6])  # x > t_x


def test_histories_real_data_has(cdnow_events, bgf):
    """Customers who first bought on the calibration end's day (T = 0) and one-time buyers are
    accepted, as lifetimes accepts them; Gamma-Gamma leaves out and counts who it cannot use."""
    import datetime as dt

    import pyarrow as pa

    late = pa.table({
        "customer_id": pa.array([900_001, 900_002, 900_002], pa.int64()),
        "event_time": pa.array([dt.datetime(1997, 9, 30, 12), dt.datetime(1997, 9, 30, 9),
                                dt.datetime(1997, 9, 30, 18)], pa.timestamp("us", tz="UTC")),
        "event_type": ["purchase"] * 3,
        "amount": [10.0, 5.0, 7.0],
    })
    s = clientele.summary(pa.concat_tables([cdnow_events, late]), CALIBRATION_END, time_unit="week")
    rows = s.to_pandas().set_index("customer_id")
    assert rows.loc[900_001, "T"] == 0.0 and rows.loc[900_001, "frequency"] == 0
    assert rows.loc[900_002, "T"] == 0.0 and rows.loc[900_002, "frequency"] == 0  # same day: one occasion
    for kind in ["bgnbd", "mbgnbd", "pnbd"]:
        m = clientele.fit(s, kind)
        p = m.p_alive(s["frequency"], s["recency"], s["T"])
        assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all(), kind
        assert np.isfinite(m.predict(52, s["frequency"], s["recency"], s["T"])).all(), kind
    # T = 0 scored as lifetimes scores it, at lifetimes' estimates
    at = clientele.Model.from_params("bgnbd", **{k: bgf.params_[k] for k in ["r", "alpha", "a", "b"]})
    zeros = np.zeros(1)
    assert rel(at.p_alive(zeros, zeros, zeros), bgf.conditional_probability_alive(zeros, zeros, zeros)) < 1e-12
    assert rel(at.predict(52, zeros, zeros, zeros),
               bgf.conditional_expected_number_of_purchases_up_to_time(52, zeros, zeros, zeros)) < 1e-8
    g = clientele.fit(s, "gg")
    assert g.fit_info["customers"] == 946
    assert g.fit_info["one_time_buyers_excluded"] == s.num_rows - 946
