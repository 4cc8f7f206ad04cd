#!/usr/bin/env python3
"""k-means (k=8) on the z-scored R, F, M of 1M customers: Clientele vs scikit-learn, side by side.

    python3 benches/compare/kmeans_compare.py [--customers 1000000] [--runs 5] [--native]

Creates benches/compare/.venv (pinned scikit-learn, polars) on first use, generates the events
with `clientele generate --seed 42`, computes the RFM table with `clientele rfm` (orders
convention, as of 2026-01-01) and takes recency_days, frequency, monetary. scikit-learn's
`kmeans_plusplus` (random_state 0) picks the initial centroids on the z-scored features; both
engines then run Lloyd's algorithm from those same centroids (scikit-learn `KMeans(n_clusters=8,
init=..., n_init=1, algorithm="lloyd", tol=1e-4)`, 2 threads through threadpoolctl; Clientele
`kmeans::fit` with the same init and tolerance, 2 threads). Each is timed over the whole fit,
median of --runs runs; time per iteration = median time / iterations. Prints iterations,
times, the speed-up per iteration and the relative inertia difference. With --native it also
times a build with `-C target-cpu=native` (in its own target directory), since scikit-learn's
compiled kernels pick the CPU's vector instructions at run time. (The default build targets
x86-64-v3, `.cargo/config.toml`; the k-means kernels choose AVX2 or AVX-512 at run time in
either build.)
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
VENV = os.path.join(HERE, ".venv")
PINS = ["scikit-learn==1.9.1", "polars==2.1.0", "threadpoolctl==3.8.0"]
AS_OF = "2026-01-01"
DATA = os.environ.get("CLIENTELE_BENCH_DIR", "/tmp/clientele-bench") + "/compare"
K = 8


def worker(rfm, features_out, runs):
    """In the venv: z-score, seed with k-means++, time scikit-learn, write features and init."""
    import numpy as np
    import polars as pl
    from sklearn.cluster import KMeans, kmeans_plusplus
    from threadpoolctl import threadpool_limits

    df = pl.read_parquet(rfm).select("recency_days", "frequency", "monetary")
    raw = df.to_numpy().astype(np.float64)
    np.asfortranarray(raw).T.tofile(features_out)  # column after column
    x = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    init, _ = kmeans_plusplus(x, K, random_state=0)
    times, km = [], None
    with threadpool_limits(limits=2):
        for _ in range(runs):
            t = time.perf_counter()
            km = KMeans(n_clusters=K, init=init, n_init=1, algorithm="lloyd", tol=1e-4, max_iter=300).fit(x)
            times.append(time.perf_counter() - t)
    import sklearn
    print(json.dumps({"seconds": times, "iterations": int(km.n_iter_), "inertia": float(km.inertia_),
                      "init": init.ravel().tolist(), "rows": int(x.shape[0]), "version": sklearn.__version__}))


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
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--native", action="store_true")
    args = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "clientele-cli", "-p", "clientele-benches",
                    "--bin", "clientele", "--bin", "kmeans_compare"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    clientele = os.path.join(target, "release", "clientele")
    n = args.customers
    events = os.path.join(DATA, f"events-{n}.parquet")
    if not os.path.exists(events):
        subprocess.run([clientele, "generate", "--customers", str(n), "--seed", "42", "--out", events],
                       check=True, capture_output=True)
    rfm = os.path.join(DATA, f"rfm-kmeans-{n}.parquet")
    subprocess.run([clientele, "rfm", "--input", events, "--as-of", AS_OF, "--out", rfm], check=True, capture_output=True)
    features = os.path.join(DATA, f"rfm-features-{n}.f64")
    sk = json.loads(in_venv([__file__, "--worker", rfm, features, str(args.runs)]))
    init = ",".join(repr(v) for v in sk["init"])
    builds = [("Clientele (default build, x86-64-v3)", os.path.join(target, "release", "kmeans_compare"))]
    if args.native:
        native_target = target + "-native"
        env = dict(os.environ, CARGO_TARGET_DIR=native_target, RUSTFLAGS="-C target-cpu=native")
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "clientele-benches", "--bin", "kmeans_compare"],
                       cwd=ROOT, check=True, env=env)
        builds.append(("Clientele (-C target-cpu=native)", os.path.join(native_target, "release", "kmeans_compare")))
    sk_med = statistics.median(sk["seconds"])
    sk_it = sk_med / sk["iterations"]
    print(f"k-means k={K} on z-scored recency_days, frequency, monetary of {sk['rows']:,} customers, "
          f"same k-means++ init, 2 threads, median of {args.runs}")
    print("| engine | iterations | fit s | ms per iteration | per-iteration speed-up | inertia | inertia rel. diff |")
    print("|---|---|---|---|---|---|---|")
    print(f"| scikit-learn {sk['version']} | {sk['iterations']} | {sk_med:.3f} | {sk_it * 1e3:.2f} | 1.00x | "
          f"{sk['inertia']:.9g} | |")
    for name, binary in builds:
        ours = json.loads(subprocess.run(
            [binary, features, str(sk["rows"]), "3", init, "300", "1e-4", "2", str(args.runs)],
            check=True, capture_output=True, text=True).stdout)
        our_med = statistics.median(ours["seconds"])
        our_it = our_med / ours["iterations"]
        rel = abs(ours["inertia"] - sk["inertia"]) / sk["inertia"]
        print(f"| {name} | {ours['iterations']} | {our_med:.3f} | {our_it * 1e3:.2f} | {sk_it / our_it:.2f}x | "
              f"{ours['inertia']:.9g} | {rel:.1e} |", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
