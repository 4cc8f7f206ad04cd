#!/usr/bin/env python3
"""Golden values from `lifetimes` on histories real data has (run once; writes testdata/models/).

    python3 benches/compare/edge_golden.py

Uses the venv of clv_compare.py (benches/compare/.venv-lifetimes, lifetimes 0.11.3, created on
first use). The fixture is the CDNOW sample's weekly calibration summary (to 1997-09-30, same-day
purchases merged, recency and T in weeks = days / 7, as lifetimes' freq="D" gives them) with
customers appended that real data always has:

  * 40 customers who first bought on the calibration end's day (x = 0, t_x = 0, T = 0);
  * 6 repeat customers whose mean repeat spend is 0 (lifetimes' Gamma-Gamma refuses them:
    "There exist non-positive (<= 0) values in the monetary_value vector"; a lifetimes user
    filters them, Clientele excludes and counts them).

Writes `edge_summary.csv` (customer_id, frequency, recency, T, monetary_value) and
`edge_lifetimes.json`: the fitted parameters of BG/NBD, MBG/NBD and Pareto/NBD on the whole
fixture, of Gamma-Gamma on the repeat customers with a positive mean spend, and per listed
customer P(alive) and expected purchases over 52 weeks under each model and the Gamma-Gamma
conditional expected average spend.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "testdata", "models")


def worker():
    import numpy as np
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
    from lifetimes.utils import summary_data_from_transaction_data

    raw = pd.read_csv(os.path.join(ROOT, "testdata", "cdnow", "CDNOW_sample.txt"), sep=r"\s+", header=None,
                      names=["masterid", "sampleid", "date", "cds", "dollars"])
    raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    s = summary_data_from_transaction_data(raw, "masterid", "date", monetary_value_col="dollars",
                                           observation_period_end="1997-09-30", freq="D")
    s = s[["frequency", "recency", "T", "monetary_value"]].astype(float)
    s["recency"] /= 7.0
    s["T"] /= 7.0
    s.index = s.index.astype(np.int64)
    extra = []
    for i in range(40):
        extra.append((100001 + i, 0.0, 0.0, 0.0, 0.0))
    for i in range(6):
        extra.append((200001 + i, float(1 + i % 3), 2.0 + i, 10.0 + 2 * i, 0.0))
    e = pd.DataFrame(extra, columns=["customer_id", "frequency", "recency", "T", "monetary_value"]).set_index("customer_id")
    s.index.name = "customer_id"
    s = pd.concat([s, e])
    s.reset_index().to_csv(os.path.join(OUT, "edge_summary.csv"), index=False, float_format="%.17g")

    x, tx, T = s["frequency"], s["recency"], s["T"]
    models = {
        "bgnbd": (BetaGeoFitter(penalizer_coef=0.0), ["r", "alpha", "a", "b"]),
        "mbgnbd": (ModifiedBetaGeoFitter(penalizer_coef=0.0), ["r", "alpha", "a", "b"]),
        "pnbd": (ParetoNBDFitter(penalizer_coef=0.0), ["r", "alpha", "s", "beta"]),
    }
    probe = [int(v) for v in s.index[[0, 1, 3, 17, 1000]]] + [100001, 100040, 200001, 200006]
    golden = {"probe_customers": probe, "horizon_weeks": 52.0, "models": {}}
    for name, (m, names) in models.items():
        m.fit(x, tx, T, tol=1e-10)
        p = s.loc[probe]
        golden["models"][name] = {
            "params": {k: float(m.params_[k]) for k in names},
            "p_alive": [float(v) for v in np.asarray(m.conditional_probability_alive(p["frequency"], p["recency"], p["T"]))],
            "expected_purchases": [float(v) for v in np.asarray(
                m.conditional_expected_number_of_purchases_up_to_time(52.0, p["frequency"], p["recency"], p["T"]))],
        }
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    gg = GammaGammaFitter(penalizer_coef=0.0).fit(rep["frequency"], rep["monetary_value"], tol=1e-10)
    p = s.loc[probe]
    golden["models"]["gg"] = {
        "params": {"p": float(gg.params_["p"]), "q": float(gg.params_["q"]), "gamma": float(gg.params_["v"])},
        "customers": int(len(rep)),
        "expected_spend": [float(v) for v in np.asarray(
            gg.conditional_expected_average_profit(p["frequency"], p["monetary_value"]))],
    }
    import lifetimes
    golden["lifetimes_version"] = lifetimes.__version__
    with open(os.path.join(OUT, "edge_lifetimes.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print(json.dumps({k: v["params"] for k, v in golden["models"].items()}, indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker()
    else:
        sys.path.insert(0, HERE)
        from clv_compare import in_venv
        print(in_venv([os.path.abspath(__file__), "--worker"]))
