#!/usr/bin/env python3
"""Does the saved store pay for itself? Size, open, commands and a point lookup (issue 15 item 4).

    python3 benches/compare/store_pays.py [--customers 1000000] [--runs 3]
        [--clientele target/release/clientele] [--parquet FILE]

Standard library only. The events are `clientele generate --customers N --seed 42` (written once
into $CLIENTELE_BENCH_DIR, default /tmp/clientele-bench), or --parquet FILE (any writer's file).
The script ingests the file into a store (`clientele ingest`, default IPC storage), then runs
each store-backed command twice, from the Parquet file (`--input`) and from the store
(`--store`), as whole processes on 2 threads, alternating, --runs times, and reports:

- the store's size on disk against the Parquet file's (target: at most 1.5x);
- for `summary`, `rfm`, `clv`, `churn score` and `customer ID`: median wall time and peak RSS
  (from wait4) of both paths and the speed-up (target: at least 2x), and whether the two
  outputs are byte-identical (`cmp` of the Parquet outputs, or of the printed card);
- the point lookup's wall time (target: under 50 ms for the whole process).

`churn score` needs a model: `churn train --cutoff 2025-07-01` on the store, once, not timed.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DATA = os.environ.get("CLIENTELE_BENCH_DIR", "/tmp/clientele-bench") + "/store"


def run_rss(cmd):
    """Runs cmd through wait4 to get its own peak RSS; returns (seconds, MB, stdout)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    took = time.perf_counter() - t
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"failed ({code}): {' '.join(cmd)}\n{err.decode(errors='replace')}")
    return took, usage.ru_maxrss / 1024, out


def du(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--clientele", default=os.path.join(ROOT, "target", "release", "clientele"))
    ap.add_argument("--parquet", help="events file to use instead of a generated one")
    ap.add_argument("--lookup", default="1000042", help="customer key for the point lookup")
    a = ap.parse_args()
    cli = os.path.abspath(a.clientele)
    os.makedirs(DATA, exist_ok=True)
    parquet = a.parquet or os.path.join(DATA, f"events-{a.customers}.parquet")
    if not os.path.exists(parquet):
        subprocess.run([cli, "generate", "--customers", str(a.customers), "--seed", "42", "--out", parquet], check=True)
    store = os.path.join(DATA, "store-" + os.path.basename(parquet).replace(".parquet", ""))
    t, rss, _ = run_rss([cli, "--threads", "2", "ingest", "--input", parquet, "--store", store])
    print(f"ingest: {t:.2f} s, peak RSS {rss:.0f} MB")
    pq_bytes, st_bytes = du(parquet), du(store)
    print(f"sizes: Parquet {pq_bytes / 1e6:.1f} MB, store {st_bytes / 1e6:.1f} MB = {st_bytes / pq_bytes:.2f}x (target <= 1.5x)")
    for f in sorted(os.listdir(store)):
        print(f"  {f}: {os.path.getsize(os.path.join(store, f)) / 1e6:.1f} MB")
    model = os.path.join(DATA, "churn.json")
    run_rss([cli, "--threads", "2", "churn", "train", "--store", store, "--cutoff", "2025-07-01", "--out", model])
    out = lambda name: os.path.join(DATA, name)  # noqa: E731
    jobs = [  # (name, command words before the source flags, after them, writes --out)
        ("summary", ["summary"], ["--calibration-end", "2025-12-31", "--period", "day", "--time-unit", "week"], True),
        ("rfm", ["rfm"], ["--as-of", "2026-01-01"], True),
        ("clv", ["clv"], ["--calibration-end", "2025-12-31", "--period", "day", "--time-unit", "week",
                          "--horizon", "12m", "--discount-monthly", "0.01"], True),
        ("churn score", ["churn", "score"], ["--model", model, "--as-of", "2026-01-01"], True),
        (f"customer {a.lookup}", ["customer", a.lookup], ["--recent", "5"], False),
    ]
    rows = []
    for name, head, tail, writes in jobs:
        times = {"input": [], "store": []}
        rsss = {"input": [], "store": []}
        outputs = {}
        for _ in range(a.runs):
            for path in ("input", "store"):
                src = ["--input", parquet] if path == "input" else ["--store", store]
                target = out(f"{head[0]}-{path}.parquet")
                cmd = [cli, "--threads", "2"] + head + src + tail
                if writes:
                    cmd += ["--out", target]
                t, rss, stdout = run_rss(cmd)
                times[path].append(t)
                rsss[path].append(rss)
                outputs[path] = open(target, "rb").read() if writes else stdout
        same = outputs["input"] == outputs["store"]
        ti, ts = statistics.median(times["input"]), statistics.median(times["store"])
        rows.append((name, ti, ts, max(rsss["input"]), max(rsss["store"]), same))
    print(f"\n{'command':<22} {'--input s':>10} {'--store s':>10} {'speed-up':>9} {'RSS in MB':>10} {'RSS st MB':>10}  identical")
    for name, ti, ts, ri, rs, same in rows:
        print(f"{name:<22} {ti:>10.3f} {ts:>10.3f} {ti / ts:>8.2f}x {ri:>10.0f} {rs:>10.0f}  {'yes' if same else 'NO'}")
    if not all(r[5] for r in rows):
        sys.exit("outputs differ between --input and --store")


if __name__ == "__main__":
    main()
