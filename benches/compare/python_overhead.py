#!/usr/bin/env python3
"""The cost of calling Clientele from Python: the CLV job through the bindings vs the CLI.

    python3 benches/compare/python_overhead.py [--customers 1000000] [--runs 5]
        [--python crates/clientele-py/.venv/bin/python] [--clientele target/release/clientele]

The bindings must be installed in --python's environment in release mode
(`crates/clientele-py/tests/run.sh` does that: it builds with `maturin develop --release`). The
CLI must be a release build of the same commit. The events are `clientele generate --seed 42`
(generated once into $CLIENTELE_BENCH_DIR, default /tmp/clientele-bench).

The same job runs four ways, each as a whole process, on 2 threads, alternating, --runs times:

    cli          clientele clv --input events.parquet --calibration-end 2025-12-31 --period day
                     --time-unit week --horizon 12m --discount-monthly 0.01 --out cli.parquet
    py-path      clientele.summary("events.parquet", ...) -> clientele.clv(...) ->
                     clientele.write (the engine reads and writes the files, as the CLI does)
    py-table     pyarrow.parquet.read_table -> clientele.summary(table, ...) -> clv -> clientele.write
                     (the notebook way: events already in a pyarrow table)
    py-job       clientele.clv_job("events.parquet", ..., out) (the batch-job way: file to file in
                     one call, no table in the interpreter, so neither pyarrow nor NumPy is imported)

Process times include interpreter start-up and imports (what a user waits for); the Python
runs also report their in-process time. Prints medians and the overhead against the CLI, and
checks that all four outputs hold the same customers and the same CLV (to 1e-12 relative).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DATA = os.environ.get("CLIENTELE_BENCH_DIR", "/tmp/clientele-bench") + "/python"
CAL_END = "2025-12-31"

JOB = r'''
import json, sys, time
t0 = time.perf_counter()
import clientele
mode, events, out = sys.argv[1:4]
if mode == "py-table":  # only this way reads the file with pyarrow
    import pyarrow.parquet as pq
t1 = time.perf_counter()
if mode == "py-job":
    run = clientele.clv_job(events, "%s", out, period="day", time_unit="week", horizon="12m",
                            monthly_discount=0.01, threads=2)
    customers = run.report["clv"]["customers"]
else:
    data = pq.read_table(events) if mode == "py-table" else events
    s = clientele.summary(data, "%s", period="day", time_unit="week", threads=2)
    run = clientele.clv(s, horizon="12m", monthly_discount=0.01, threads=2)
    clientele.write(run.table, out)
    customers = run.table.num_rows
t2 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "job": t2 - t1, "customers": customers}))
''' % (CAL_END, CAL_END)


def timed(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - t, r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--python", default=os.path.join(ROOT, "crates", "clientele-py", ".venv", "bin", "python"))
    ap.add_argument("--clientele", default=os.path.join(ROOT, "target", "release", "clientele"))
    a = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)
    events = os.path.join(DATA, f"events-{a.customers}.parquet")
    if not os.path.exists(events):
        subprocess.run([a.clientele, "generate", "--customers", str(a.customers), "--seed", "42", "--out", events],
                       check=True)
    ways = ["py-job", "py-path", "py-table"]
    outs = {m: os.path.join(DATA, f"{m}.parquet") for m in ["cli", *ways]}
    cli = [a.clientele, "clv", "--threads", "2", "--input", events, "--calibration-end", CAL_END, "--period", "day",
           "--time-unit", "week", "--horizon", "12m", "--discount-monthly", "0.01", "--out", outs["cli"]]
    times = {m: [] for m in outs}
    inproc = {m: [] for m in ways}
    for _ in range(a.runs):
        times["cli"].append(timed(cli)[0])
        for m in ways:
            t, out = timed([a.python, "-c", JOB, m, events, outs[m]])
            times[m].append(t)
            inproc[m].append(json.loads(out)["job"])
    med = {m: statistics.median(v) for m, v in times.items()}
    print(f"{a.customers} customers, {a.runs} runs, 2 threads; medians (whole process):")
    for m, v in med.items():
        extra = f", in-process {statistics.median(inproc[m]):.2f} s" if m in inproc else ""
        print(f"  {m:9s} {v:6.2f} s  ({(v / med['cli'] - 1) * 100:+.1f}% vs cli){extra}")

    # same customers, same values
    check = r'''
import sys, numpy as np, pyarrow.parquet as pq
tables = [pq.read_table(p).sort_by("customer_id") for p in sys.argv[1:]]
base = tables[0]
for t in tables[1:]:
    assert t.num_rows == base.num_rows
    assert t["customer_id"].equals(base["customer_id"])
    for col in ["frequency", "recency", "T", "p_alive", "expected_purchases", "clv", "churn_risk"]:
        a, b = t[col].to_numpy(), base[col].to_numpy()
        assert np.allclose(a, b, rtol=1e-12, atol=0), col
print("outputs agree:", base.num_rows, "customers")
'''
    print(subprocess.run([a.python, "-c", check, *outs.values()], check=True, capture_output=True,
                         text=True).stdout.strip())


if __name__ == "__main__":
    sys.exit(main())
