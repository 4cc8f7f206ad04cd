#!/usr/bin/env python3
"""scikit-learn golden file for Clientele's churn logistic regression.

    python3 benches/compare/churn_golden.py [--regenerate-features]

Reads testdata/churn/features.csv (per-customer churn features and labels computed by
Clientele from `clientele generate --customers 3000 --seed 7`, cutoff 2025-07-01, horizon 90
days; written by `cargo test -p clientele --test churn -- --ignored write_features_csv`, which
--regenerate-features runs first), standardizes every feature column (mean, population
standard deviation, 1 in place of 0, as Clientele's `Scaling`), and fits scikit-learn
`LogisticRegression(C=1.0, penalty="l2", solver="lbfgs", tol=1e-10, max_iter=10000)`, once
unweighted and once with `class_weight="balanced"`. Writes the coefficients, intercept, ROC
AUC, average precision, Brier score and the predicted probabilities of each fit to
testdata/churn/sklearn_golden.json. Creates benches/compare/.venv (pinned scikit-learn and
NumPy; shared with the other compare scripts) on first use.
"""
import csv
import json
import os
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
VENV = os.path.join(HERE, ".venv")
PINS = ["scikit-learn==1.9.1", "numpy==2.4.6"]
FEATURES = os.path.join(ROOT, "testdata", "churn", "features.csv")
GOLDEN = os.path.join(ROOT, "testdata", "churn", "sklearn_golden.json")


def worker():
    """In the venv: fit both models and write the golden file."""
    import warnings

    import numpy as np
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    with open(FEATURES, newline="") as f:
        rows = list(csv.reader(f))
    header, data = rows[0], rows[1:]
    names = header[1:-1]  # customer_id first, churned last
    x = np.array([[float(v) for v in r[1:-1]] for r in data], dtype=np.float64)
    y = np.array([int(float(r[-1])) for r in data])
    mean = x.mean(axis=0)
    sd = x.std(axis=0)
    sd[sd == 0] = 1.0
    z = (x - mean) / sd
    out = {
        "source": "benches/compare/churn_golden.py on testdata/churn/features.csv",
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "features": names,
        "rows": int(len(y)),
        "positives": int(y.sum()),
    }
    for key, cw in [("unweighted", None), ("balanced", "balanced")]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # `penalty` is deprecated in favour of l1_ratio
            m = LogisticRegression(C=1.0, penalty="l2", solver="lbfgs", tol=1e-10, max_iter=10000,
                                   class_weight=cw).fit(z, y)
        p = m.predict_proba(z)[:, 1]
        out[key] = {
            "class_weight": cw,
            "coef": m.coef_[0].tolist(),
            "intercept": float(m.intercept_[0]),
            "n_iter": int(m.n_iter_[0]),
            "roc_auc": float(roc_auc_score(y, p)),
            "average_precision": float(average_precision_score(y, p)),
            "brier_score": float(brier_score_loss(y, p)),
            "proba": p.tolist(),
        }
    with open(GOLDEN, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {GOLDEN}: {len(y)} rows, {len(names)} features; "
          f"AUC {out['unweighted']['roc_auc']:.6f} (balanced {out['balanced']['roc_auc']:.6f})")


def in_venv(args):
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        venv.create(VENV, with_pip=True)
    # The venv is shared with the other compare scripts: install any pin not recorded yet.
    marker = os.path.join(VENV, "clientele-pins.txt")
    have = set(open(marker).read().split()) if os.path.exists(marker) else set()
    if not set(PINS) <= have:
        subprocess.run([python, "-m", "pip", "install", "-q", *PINS], check=True)
        with open(marker, "w") as f:
            f.write("\n".join(sorted(have | set(PINS))))
    return subprocess.run([python, *args], check=True, capture_output=True, text=True).stdout


def main():
    if "--regenerate-features" in sys.argv[1:]:
        subprocess.run(["cargo", "test", "-q", "-p", "clientele", "--test", "churn", "--",
                        "--ignored", "--exact", "write_features_csv"], cwd=ROOT, check=True)
    print(in_venv([__file__, "--worker"]), end="")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker()
    else:
        main()
