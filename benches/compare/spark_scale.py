#!/usr/bin/env python3
"""The Spark recipe (clientele.spark) at scale in local mode: time and memory per stage.

    crates/clientele-py/.venv/bin/python benches/compare/spark_scale.py [--customers 1000000]
        [--partitions 8] [--max-partition-mb 128] [--clientele target/release/clientele]

Needs the venv of crates/clientele-py/tests/run.sh (release bindings, PySpark 4.0.1) and Java.
Generates `clientele generate --customers N --seed 42` once (into $CLIENTELE_BENCH_DIR, default
/tmp/clientele-bench), then on Spark local[2] (driver memory 4g): reads the events, summarizes
them with two mapInArrow stages around a shuffle of the partial states (the events' own input
partitions split customers), writes the summary to Parquet, fits the CLV models on the driver,
scores every partition and writes the scores. Each stage is timed by materializing it; a
sampler records the peak resident memory of the JVM and of the Python workers (summed over
the workers alive at once). Finally checks the summary and the scores against the single-machine
library on the same file (equal / 1e-8 relative).
"""
import argparse
import os
import subprocess
import sys
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DATA = os.environ.get("CLIENTELE_BENCH_DIR", "/tmp/clientele-bench") + "/spark"
CAL_END = "2025-12-31"


def descendants(pid):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parts = f.read().rsplit(")", 1)[1].split()
                kids.setdefault(int(parts[1]), []).append(int(d))
            except OSError:
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class Sampler:
    def __init__(self):
        self.peak = {"jvm": 0.0, "python workers": 0.0, "driver (python)": 0.0}
        self.stop = threading.Event()

    def reset(self):
        self.peak = {k: 0.0 for k in self.peak}

    def run(self):
        me = os.getpid()
        while not self.stop.is_set():
            jvm = workers = 0.0
            for p in descendants(me):
                c = cmdline(p)
                if "java" in c.split(" ")[0]:
                    jvm += rss_mb(p)
                elif "python" in c:
                    workers += rss_mb(p)
            for k, v in [("jvm", jvm), ("python workers", workers), ("driver (python)", rss_mb(me))]:
                self.peak[k] = max(self.peak[k], v)
            time.sleep(0.1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--max-partition-mb", type=int, default=128,
                    help="spark.sql.files.maxPartitionBytes: smaller gives more input partitions")
    ap.add_argument("--clientele", default=os.path.join(ROOT, "target", "release", "clientele"))
    a = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)
    events_path = os.path.join(DATA, f"events-{a.customers}.parquet")
    if not os.path.exists(events_path):
        subprocess.run([a.clientele, "generate", "--customers", str(a.customers), "--seed", "42", "--out",
                        events_path], check=True)

    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    import clientele
    import clientele.spark as cs

    sampler = Sampler()
    threading.Thread(target=sampler.run, daemon=True).start()
    spark = (SparkSession.builder.master("local[2]").appName("clientele-scale")
             .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
             .config("spark.driver.memory", "4g").config("spark.sql.shuffle.partitions", str(a.partitions))
             .config("spark.sql.files.maxPartitionBytes", str(a.max_partition_mb * 1024 * 1024))
             .getOrCreate())
    rows = []

    def stage(name, f):
        sampler.reset()
        t = time.perf_counter()
        out = f()
        rows.append((name, time.perf_counter() - t, dict(sampler.peak)))
        print(f"{name}: {rows[-1][1]:.1f} s, peak RSS " +
              ", ".join(f"{k} {v:.0f} MB" for k, v in rows[-1][2].items()), flush=True)
        return out

    events = spark.read.parquet(events_path).select("customer_id", "event_time", "event_type", "amount")
    n_in = events.rdd.getNumPartitions()
    summary_path = os.path.join(DATA, "summary.parquet")
    scores_path = os.path.join(DATA, "scores.parquet")
    stage("summarize (mapInArrow partial -> shuffle -> mapInArrow merge) + write",
          lambda: cs.summarize(events, CAL_END, time_unit="week", partitions=a.partitions)
          .write.mode("overwrite").parquet(summary_path))
    summary = spark.read.parquet(summary_path)
    models = stage("fit on the driver (toArrow + clientele.clv)", lambda: cs.fit(summary, time_unit="week"))
    stage("score every partition + write",
          lambda: cs.score(summary, models, time_unit="week").write.mode("overwrite").parquet(scores_path))
    spark.stop()

    # the single-machine answer on the same file
    import pyarrow.parquet as pq

    t = time.perf_counter()
    single = clientele.summary(events_path, CAL_END, time_unit="week")
    run = clientele.clv(single, monthly_discount=0.01)
    single_s = time.perf_counter() - t
    got = pq.read_table(summary_path).sort_by("customer_id")
    want = single.select(got.column_names).sort_by("customer_id")
    assert got.num_rows == want.num_rows == a.customers
    for c in got.column_names:
        assert got[c].equals(want[c]), c
    scores = pq.read_table(scores_path).sort_by("customer_id")
    ref = run.table.sort_by("customer_id")
    assert scores["customer_id"].equals(ref["customer_id"])
    worst = max(float(np.max(np.abs(scores[c].to_numpy() - ref[c].to_numpy()) /
                             np.maximum(np.abs(ref[c].to_numpy()), 1e-300))) for c in cs.SCORE_COLUMNS[1:])

    print(f"{a.customers} customers, {n_in} input partitions, {a.partitions} shuffle partitions; "
          f"summary equal to the single-machine summary; scores within {worst:.1e} relative; "
          f"single-machine library (summary + clv) {single_s:.1f} s")


if __name__ == "__main__":
    main()
