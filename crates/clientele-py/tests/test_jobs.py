"""The jobs: RFM against DuckDB's golden table, value tiers, CLV (fit, then score with the saved
models), churn and the CRM views, each the library's pipeline function behind one call."""
import csv
import json

import numpy as np
import pyarrow as pa
import pytest

import clientele
from conftest import CALIBRATION_END, RFM_GOLDEN


def test_rfm_equals_duckdb(rfm_events):
    got = clientele.rfm(rfm_events, "2025-07-01").sort_by("customer_id")
    with open(RFM_GOLDEN) as f:
        rows = list(csv.DictReader(f))
    assert got.num_rows == len(rows)
    for col in ["recency_days", "frequency", "t_days", "r_score", "f_score", "m_score"]:
        assert got[col].to_pylist() == [int(r[col]) for r in rows], col
    np.testing.assert_allclose(got["monetary"].to_numpy(), [float(r["monetary"]) for r in rows], rtol=0, atol=1e-9)
    assert got["customer_id"].to_pylist() == [int(r["customer_id"]) for r in rows]


def test_rfm_threads_do_not_change_results(rfm_events):
    one = clientele.rfm(rfm_events, "2025-07-01", threads=1)
    three = clientele.rfm(rfm_events, "2025-07-01", threads=3)
    assert one.equals(three)


def test_segments(rfm_events):
    per_customer, tiers = clientele.segments(rfm_events, "2025-07-01", tiers="deciles")
    assert tiers.num_rows == 10
    assert sum(tiers["customers"].to_pylist()) == per_customer.num_rows
    top, summary = clientele.segments(rfm_events, "2025-07-01", top_share=0.2)
    assert summary.num_rows == 2
    with pytest.raises(clientele.ClienteleError, match="tiers"):
        clientele.segments(rfm_events, "2025-07-01", tiers="quartiles")


def test_clv_fit_then_score_with_saved_models(cdnow_events):
    s = clientele.summary(cdnow_events, CALIBRATION_END, time_unit="week")
    run = clientele.clv(s, monthly_discount=0.01)
    assert run.table.num_rows == 2357
    assert run.report["fitted"] is True
    assert run.models.purchase.kind == "bgnbd"
    assert run.models.spend.kind == "gg"
    # BG/NBD rates every one-time buyer alive: churn risk comes from MBG/NBD
    assert run.report["risk_model"] == "mbgnbd"
    saved = clientele.Models.from_json(run.models.to_json())
    again = clientele.clv(s, models=saved)
    assert again.report["fitted"] is False
    for col in ["p_alive", "expected_purchases", "clv", "churn_risk"]:
        np.testing.assert_allclose(again.table[col].to_numpy(), run.table[col].to_numpy(), rtol=1e-12, err_msg=col)
    # the CLV column is the Gamma-Gamma model's CLV with the purchase model (lifetimes' sum)
    bg, gg = run.models.purchase, run.models.spend
    direct = gg.customer_lifetime_value(bg, s["frequency"], s["recency"], s["T"], s["monetary_value"],
                                        time=12, discount_rate=0.01, freq="W")
    np.testing.assert_allclose(run.table["clv"].to_numpy(), direct, rtol=1e-9)


def test_clv_needs_a_discount(cdnow_events):
    s = clientele.summary(cdnow_events, CALIBRATION_END, time_unit="week")
    with pytest.raises(clientele.ClienteleError, match="discount"):
        clientele.clv(s)


def test_churn_train_and_score(rfm_events):
    model, metrics = clientele.churn_train(rfm_events, "2025-04-01", horizon_days=90)
    assert 0.5 < metrics["roc_auc"] <= 1.0
    scores = clientele.churn_score(rfm_events, model, "2025-07-01")
    assert scores.num_rows > 0
    p = scores["churn_probability"].to_numpy()
    assert ((p >= 0) & (p <= 1)).all()
    back = clientele.ChurnModel.from_json(model.to_json())
    assert clientele.churn_score(rfm_events, back, "2025-07-01").equals(scores)


def test_views(rfm_events):
    c = clientele.cohorts(rfm_events, "2025-07-01")
    assert c.num_rows > 0 and "cohort" in c.column_names
    ch = clientele.channels(rfm_events, as_of="2025-07-01")
    assert set(ch) == {"channels", "preferred"}
    assert ch["channels"].num_rows > 0
    v = clientele.customer360(rfm_events, as_of="2025-07-01")
    assert v.num_rows == len(set(rfm_events["customer_id"].to_pylist()))
    rfm = clientele.rfm(rfm_events, "2025-07-01")
    with_rfm = clientele.customer360(rfm_events, as_of="2025-07-01", table=rfm.select(["customer_id", "r_score"]))
    assert "r_score" in with_rfm.column_names
    acq = clientele.acquisition(rfm_events, as_of="2025-07-01")
    assert acq.num_rows > 0
    for model in ["first", "last", "linear", "decay"]:
        att = clientele.attribution(rfm_events, model=model, as_of="2025-07-01")
        assert att.num_rows > 0
    with pytest.raises(clientele.ClienteleError, match="attribution"):
        clientele.attribution(rfm_events, model="shapley")
    camp = clientele.campaigns(rfm_events, as_of="2025-07-01")
    assert camp.num_rows > 0
    cs = clientele.cross_sell(rfm_events, as_of="2025-07-01")
    assert set(cs) == {"rules", "next_best"}
    sat = clientele.satisfaction(rfm_events, as_of="2025-07-01")
    assert set(sat) == {"summary", "distribution"}


def test_views_equal_the_library_from_a_path(tmp_path, rfm_events):
    """A view from a pyarrow table and from the Parquet path give the same table."""
    import pyarrow.parquet as pq

    path = tmp_path / "events.parquet"
    pq.write_table(rfm_events, path)
    assert clientele.cohorts(rfm_events, "2025-07-01").equals(clientele.cohorts(path, "2025-07-01"))


def test_write_round_trips(tmp_path, rfm_events):
    import pyarrow.parquet as pq

    table = clientele.rfm(rfm_events, "2025-07-01")
    for name in ["out.parquet", "out.arrow", "out.csv"]:
        clientele.write(table, tmp_path / name)
        assert (tmp_path / name).stat().st_size > 0
    assert pq.read_table(tmp_path / "out.parquet").equals(table)
    with pytest.raises(clientele.ClienteleError):
        clientele.write(table, tmp_path / "out.unknown-extension")


def test_summary_state_merges_partitions_exactly(cdnow_events):
    """Partitions summarized apart, states shipped as Arrow and merged: summary() exactly."""
    whole = clientele.summary(cdnow_events, CALIBRATION_END, observation_end="1998-06-30", time_unit="week",
                              all_columns=True)
    n = cdnow_events.num_rows
    for parts in [1, 2, 7]:
        bounds = [i * n // parts for i in range(parts + 1)]
        states = []
        for a, b in zip(bounds, bounds[1:]):
            s = clientele.SummaryState(CALIBRATION_END, observation_end="1998-06-30", time_unit="week")
            s.update(cdnow_events.slice(a, b - a))
            states.append(s.state())
        merged = clientele.SummaryState(CALIBRATION_END, observation_end="1998-06-30", time_unit="week")
        for st in reversed(states):
            merged.merge_state(st)
        assert merged.num_customers == 2357
        assert merged.finish().equals(whole), parts


def test_summary_state_errors(cdnow_events):
    s = clientele.SummaryState(CALIBRATION_END, time_unit="week")
    other = clientele.SummaryState(CALIBRATION_END, time_unit="day")
    other.update(cdnow_events.slice(0, 10))
    with pytest.raises(clientele.ClienteleError, match="different summary parameters"):
        s.merge_state(other.state())
    s.finish()
    with pytest.raises(clientele.ClienteleError, match="finish"):
        s.update(cdnow_events)
    bad = cdnow_events.set_column(0, "customer_id", pa.array([None] * cdnow_events.num_rows, pa.int64()))
    with pytest.raises(clientele.ClienteleError):
        clientele.SummaryState(CALIBRATION_END).update(bad)


def test_churn_with_btyd_features_scores_with_the_models_features(rfm_events):
    model, metrics = clientele.churn_train(rfm_events, "2025-04-01", horizon_days=90, btyd_weeks=13)
    names = [n for n, _ in model.coefficients]
    assert "p_alive" in names and "expected_purchases" in names
    # no btyd_weeks given: the model's own setting applies
    scores = clientele.churn_score(rfm_events, model, "2025-07-01")
    assert scores.num_rows > 0


def test_report_html_writes_the_page_and_its_data(cdnow_events, tmp_path):
    html = clientele.report_html(cdnow_events, "1998-07-01", "1997-09-30", out=tmp_path / "r.html",
                                 data_dir=tmp_path / "data", threads=2)
    assert html.startswith("<!DOCTYPE html>")
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == html
    # CDNOW has purchases only: the model sections are drawn, the channel ones say why not
    assert 'data-section="tracking"' in html and 'data-chart="model-p-alive"' in html
    assert '<p class="absent">The events have no channel column.</p>' in html
    assert (tmp_path / "data" / "segment-shares.csv").exists()
    with pytest.raises(clientele.ClienteleError) as e:
        clientele.report_html(cdnow_events, "1997-01-01", "1997-09-30")
    assert e.value.kind == "InvalidParameter" and "calibration_end" in str(e.value)


def test_clv_job_writes_what_clv_returns(cdnow_events, tmp_path):
    """The file-to-file job gives the table summary() -> clv() gives, written by the engine."""
    import pyarrow.parquet as pq

    out = tmp_path / "clv.parquet"
    job = clientele.clv_job(cdnow_events, CALIBRATION_END, out, time_unit="week", monthly_discount=0.01)
    assert job.table is None
    assert job.report["clv"]["customers"] == 2357 and job.report["out"] == str(out)
    # a table in the streaming path's scope is summarized from its columns: nothing rejected,
    # no ingest report
    assert job.report["ingest"] is None
    s = clientele.summary(cdnow_events, CALIBRATION_END, time_unit="week")
    direct = clientele.clv(s, monthly_discount=0.01).table
    assert pq.read_table(out).equals(direct)
    # scoring with saved models, and errors as in clv()
    again = clientele.clv_job(cdnow_events, CALIBRATION_END, tmp_path / "again.parquet", time_unit="week",
                              models=job.models)
    assert again.report["clv"]["fitted"] is False
    assert pq.read_table(tmp_path / "again.parquet").equals(direct)
    with pytest.raises(clientele.ClienteleError, match="discount"):
        clientele.clv_job(cdnow_events, CALIBRATION_END, tmp_path / "x.parquet", time_unit="week")
    # never over its own input
    import pyarrow.parquet as pq2

    src = tmp_path / "events.parquet"
    pq2.write_table(cdnow_events, src)
    with pytest.raises(clientele.ClienteleError, match="is the input"):
        clientele.clv_job(src, CALIBRATION_END, src, time_unit="week", monthly_discount=0.01)
    assert pq2.read_table(src).num_rows == cdnow_events.num_rows
    assert "table=None" in repr(job)


def test_file_jobs_do_not_import_pyarrow():
    """import clientele and a file-to-file job load neither pyarrow nor NumPy (most of a cold
    start); a job that returns a table loads pyarrow when it returns it."""
    import os
    import subprocess
    import sys

    from conftest import RFM_EVENTS

    with __import__("tempfile").TemporaryDirectory() as d:
        out = os.path.join(d, "clv.parquet")
        code = ("import sys, clientele\n"
                "before = 'pyarrow' in sys.modules\n"
                f"clientele.clv_job({RFM_EVENTS!r}, '2025-06-30', {out!r}, monthly_discount=0.01, time_unit='week')\n"
                "print(before, 'pyarrow' in sys.modules, 'numpy' in sys.modules)\n")
        out_text = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
        assert out_text.split() == ["False", "False", "False"], out_text
        assert os.path.getsize(out) > 0


def test_intervals_of_parameters_and_of_clv(cdnow_events):
    s = clientele.summary(cdnow_events, CALIBRATION_END, time_unit="week")
    bgf = clientele.fit(s, "bgnbd")
    iv = bgf.intervals(0.95)
    assert iv.column_names == ["param", "estimate", "se", "lower", "upper"]
    se = iv["se"].to_numpy()
    np.testing.assert_allclose(se, [0.0126, 0.378, 0.186, 0.705], atol=5e-3)  # lifetimes: 0.01, 0.38, 0.19, 0.71
    est, lo, hi = (iv[c].to_numpy() for c in ("estimate", "lower", "upper"))
    assert np.all((lo > 0) & (lo < est) & (est < hi))
    np.testing.assert_allclose(lo, est * np.exp(-1.959963984540054 * se / est), rtol=1e-12)
    run = clientele.clv(s, monthly_discount=0.01, intervals=0.9)
    t = run.table
    for v in ("expected_purchases", "clv"):
        lower, value, upper = (t[c].to_numpy() for c in (f"{v}_lower", v, f"{v}_upper"))
        assert np.all((lower <= value) & (value <= upper)), v
    with pytest.raises(clientele.ClienteleError, match="intervals"):
        clientele.clv(s, monthly_discount=0.01, intervals=1.5)
