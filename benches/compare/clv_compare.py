#!/usr/bin/env python3
"""Events to 12-month CLV: Clientele vs the Python `lifetimes` package, side by side.

    python3 benches/compare/clv_compare.py [--customers 100000 1000000 5000000] [--runs 3]

Creates benches/compare/.venv-lifetimes (lifetimes 0.11.3 with the pandas / NumPy / SciPy
versions it was written for, pinned below) on first use, generates each data set with
`clientele generate --seed 42`, and runs the same pipeline in both:

    read the events (Parquet) -> weekly summary (calibration = the whole window, to 2025-12-31)
    -> fit BG/NBD -> fit Gamma-Gamma on the repeat customers -> P(alive) and expected purchases
    -> 12-month CLV at 1 % a month (lifetimes' discrete monthly convention, 4.345 weeks a month)
    -> write the per-customer table (Parquet)

lifetimes is timed inside its own process (interpreter start-up and imports excluded);
Clientele is timed as the whole `clientele --threads 2 clv` process. Median of --runs runs
(lifetimes runs once at 5M customers: one run takes minutes). Prints both times, the ratio and
both models' fitted parameters side by side with their largest relative difference.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
VENV = os.path.join(HERE, ".venv-lifetimes")
# lifetimes 0.11.3 (2020) predates pandas 3; these versions install together on Python 3.11.
PINS = ["lifetimes==0.11.3", "pandas==2.2.3", "numpy==1.26.4", "scipy==1.13.1", "pyarrow==17.0.0", "autograd==1.7.0"]
CAL_END = "2025-12-31"
DATA = os.environ.get("CLIENTELE_BENCH_DIR", "/tmp/clientele-bench") + "/compare"


def worker(events, out, runs):
    """In the venv: the lifetimes pipeline, timed; prints times and parameters as JSON."""
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    times, params = [], {}
    for _ in range(runs):
        t = time.perf_counter()
        df = pd.read_parquet(events, columns=["customer_id", "event_time", "event_type", "amount"])
        df = df[df["event_type"] == "purchase"]
        df = df.assign(event_time=df["event_time"].dt.tz_convert("UTC").dt.tz_localize(None))
        s = summary_data_from_transaction_data(df, "customer_id", "event_time", monetary_value_col="amount",
                                               observation_period_end=CAL_END, freq="W")
        bgf = BetaGeoFitter(penalizer_coef=0.0).fit(s["frequency"], s["recency"], s["T"])
        rep = s[s["frequency"] > 0]
        ggf = GammaGammaFitter(penalizer_coef=0.0).fit(rep["frequency"], rep["monetary_value"])
        out_df = pd.DataFrame(index=s.index)
        out_df["p_alive"] = bgf.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
        out_df["expected_purchases"] = bgf.conditional_expected_number_of_purchases_up_to_time(
            52, s["frequency"], s["recency"], s["T"])
        out_df["clv"] = ggf.customer_lifetime_value(bgf, s["frequency"], s["recency"], s["T"], s["monetary_value"],
                                                    time=12, discount_rate=0.01, freq="W")
        out_df.reset_index().to_parquet(out)
        times.append(time.perf_counter() - t)
        params = {"r": bgf.params_["r"], "alpha": bgf.params_["alpha"], "a": bgf.params_["a"], "b": bgf.params_["b"],
                  "p": ggf.params_["p"], "q": ggf.params_["q"], "gamma": ggf.params_["v"]}
    print(json.dumps({"seconds": times, "params": {k: float(v) for k, v in params.items()}, "customers": len(s)}))


def in_venv(args):
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        venv.create(VENV, with_pip=True)
    marker = os.path.join(VENV, "clientele-pins.txt")
    have = set(open(marker).read().split()) if os.path.exists(marker) else set()
    if not set(PINS) <= have:
        subprocess.run([python, "-m", "pip", "install", "-q", *PINS], check=True)
        with open(marker, "w") as f:
            f.write("\n".join(sorted(have | set(PINS))) + "\n")
    return subprocess.run([python, *args], check=True, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, nargs="+", default=[100_000, 1_000_000, 5_000_000])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "clientele-cli"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    clientele = os.path.join(target, "release", "clientele")
    names = ["r", "alpha", "a", "b", "p", "q", "gamma"]
    rows = []
    for n in args.customers:
        events = os.path.join(DATA, f"events-{n}.parquet")
        if not os.path.exists(events):
            subprocess.run([clientele, "generate", "--customers", str(n), "--seed", "42", "--out", events],
                           check=True, capture_output=True)
        out = os.path.join(DATA, f"clv-clientele-{n}.parquet")
        models = os.path.join(DATA, f"clv-models-{n}.json")
        times = []
        for _ in range(max(args.runs, 1)):
            t = time.perf_counter()
            subprocess.run([clientele, "--threads", "2", "clv", "--input", events, "--calibration-end", CAL_END,
                            "--period", "week", "--horizon-months", "12", "--discount-monthly", "0.01",
                            "--out", out, "--model-out", models], check=True, capture_output=True)
            times.append(time.perf_counter() - t)
        ours = statistics.median(times)
        m = json.load(open(models))
        mine = {**m["purchase"]["params"], **m["spend"]["params"]}
        lt_runs = 1 if n >= 5_000_000 else max(args.runs, 1)
        lt = json.loads(in_venv([__file__, "--worker", events, os.path.join(DATA, f"clv-lifetimes-{n}.parquet"),
                                 str(lt_runs)]))
        theirs = statistics.median(lt["seconds"])
        rel = max(abs(mine[k] - lt["params"][k]) / abs(lt["params"][k]) for k in names)
        rows.append((n, ours, theirs, lt_runs, rel))
        print(f"{n:,} customers: Clientele {ours:.2f} s, lifetimes {theirs:.2f} s ({lt_runs} run(s)), "
              f"{theirs / ours:.1f}x; largest parameter difference {rel:.1e} (relative)", flush=True)
        print("  | parameter | " + " | ".join(names) + " |")
        print("  |---|" + "---|" * len(names))
        print("  | Clientele | " + " | ".join(f"{mine[k]:.6g}" for k in names) + " |")
        print("  | lifetimes | " + " | ".join(f"{lt['params'][k]:.6g}" for k in names) + " |", flush=True)
    print("\n| customers | Clientele s | lifetimes s | lifetimes ÷ Clientele | largest relative parameter difference |")
    print("|---|---|---|---|---|")
    for n, ours, theirs, lt_runs, rel in rows:
        print(f"| {n:,} | {ours:.2f} | {theirs:.2f}{'' if lt_runs > 1 else ' (1 run)'} | {theirs / ours:.1f}x | {rel:.1e} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
