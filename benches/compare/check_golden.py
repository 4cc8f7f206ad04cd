#!/usr/bin/env python3
"""Golden values for `clientele check` from `lifetimes` 0.11.3 (run once; writes testdata/models/).

    python3 benches/compare/check_golden.py

Uses the venv of clv_compare.py. On the CDNOW sample (calibration to 1997-09-30, holdout to
1998-06-30, same-day purchases merged, time in weeks = days / 7) it fits BG/NBD as lifetimes
does and writes `check_lifetimes.json` with the series lifetimes' plotting functions compute:

  * `calibration_vs_holdout`: per calibration frequency 0..6, the mean actual holdout
    purchases and the mean of the model's expected purchases over each customer's holdout
    duration (`plot_calibration_purchases_vs_holdout_purchases`, n = 7);
  * `frequency_recency_matrix`: expected purchases in the next week and P(alive) for every
    frequency 0..max x and recency 0..max T (whole weeks) with T = max T
    (`plot_frequency_recency_matrix`, `plot_probability_alive_matrix`);
  * the fitted parameters, so that the Rust test evaluates the same model.
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
    from lifetimes import BetaGeoFitter
    from lifetimes.utils import calibration_and_holdout_data

    raw = pd.read_csv(os.path.join(ROOT, "testdata", "cdnow", "CDNOW_sample.txt"), sep=r"\s+", header=None,
                      names=["masterid", "sampleid", "date", "cds", "dollars"])
    raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    s = calibration_and_holdout_data(raw, "masterid", "date", calibration_period_end="1997-09-30",
                                     observation_period_end="1998-06-30", freq="D", monetary_value_col="dollars")
    for c in ["recency_cal", "T_cal", "duration_holdout"]:
        s[c] = s[c] / 7.0
    bgf = BetaGeoFitter(penalizer_coef=0.0).fit(s["frequency_cal"], s["recency_cal"], s["T_cal"], tol=1e-10)
    s["model_predictions"] = bgf.conditional_expected_number_of_purchases_up_to_time(
        s["duration_holdout"], s["frequency_cal"], s["recency_cal"], s["T_cal"])
    g = s.groupby("frequency_cal")[["frequency_holdout", "model_predictions"]].mean().iloc[:7]
    counts = s.groupby("frequency_cal").size().iloc[:7]
    cal = [{"frequency": int(k), "customers": int(counts[k]), "actual": float(r["frequency_holdout"]),
            "expected": float(r["model_predictions"])} for k, r in g.iterrows()]
    max_x = int(s["frequency_cal"].max())
    max_t = int(s["T_cal"].max())
    xs, rs = np.meshgrid(np.arange(max_x + 1), np.arange(max_t + 1))
    z = bgf.conditional_expected_number_of_purchases_up_to_time(1, xs, rs, max_t)
    p = bgf.conditional_probability_alive(xs, rs, max_t)
    cells = []
    for i in range(xs.shape[0]):
        for j in range(xs.shape[1]):
            if j % 3 == 0 and i % 5 == 0:  # a thinned grid keeps the file small
                cells.append({"frequency": int(xs[i, j]), "recency": int(rs[i, j]),
                              "expected_purchases": float(z[i, j]), "p_alive": float(p[i, j])})
    import lifetimes
    golden = {
        "lifetimes_version": lifetimes.__version__,
        "params": {k: float(bgf.params_[k]) for k in ["r", "alpha", "a", "b"]},
        "calibration_vs_holdout": cal,
        "matrix": {"max_frequency": max_x, "max_recency": max_t, "t": 1.0, "cells": cells},
    }
    with open(os.path.join(OUT, "check_lifetimes.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print(json.dumps({"params": golden["params"], "cal": cal[:3], "cells": len(cells), "max": [max_x, max_t]}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker()
    else:
        sys.path.insert(0, HERE)
        from clv_compare import in_venv
        print(in_venv([os.path.abspath(__file__), "--worker"]))
