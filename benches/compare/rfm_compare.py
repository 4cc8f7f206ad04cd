#!/usr/bin/env python3
"""RFM (orders convention) + three NTILE(5) scores: Clientele vs DuckDB vs Polars, side by side.

    python3 benches/compare/rfm_compare.py [--customers 1000000 5000000] [--runs 5]

Creates benches/compare/.venv (pinned DuckDB, Polars and pyarrow; shared with writers.py) on
first use, generates each data set with `clientele generate --seed 42`, and for every engine
runs Parquet in -> Parquet out with 2 threads, warm cache, the median of --runs runs (DuckDB
and Polars are timed inside their own process, interpreter start-up excluded; Clientele is
timed as the whole `clientele rfm` process). It then checks that the three outputs are equal
row for row and prints the times and the ratio of the faster of DuckDB and Polars to Clientele.
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
PINS = ["duckdb==2.0.0", "polars==2.1.0", "pyarrow==26.0.1"]
AS_OF = "2026-01-01"
DATA = os.environ.get("CLIENTELE_BENCH_DIR", "/tmp/clientele-bench") + "/compare"

DUCKDB_SQL = f"""
COPY (
WITH agg AS (
    SELECT customer_id,
           CAST(floor((epoch(TIMESTAMPTZ '{AS_OF} 00:00:00+00') - epoch(max(event_time))) / 86400) AS BIGINT) AS recency_days,
           count(*) AS frequency,
           round(sum(coalesce(amount, 0)), 2) AS monetary,
           CAST(floor((epoch(TIMESTAMPTZ '{AS_OF} 00:00:00+00') - epoch(min(event_time))) / 86400) AS BIGINT) AS t_days
    FROM read_parquet('{{events}}')
    WHERE event_type = 'purchase' AND event_time < TIMESTAMPTZ '{AS_OF} 00:00:00+00'
    GROUP BY customer_id
)
SELECT *, NTILE(5) OVER (ORDER BY recency_days DESC, customer_id) AS r_score,
          NTILE(5) OVER (ORDER BY frequency, customer_id) AS f_score,
          NTILE(5) OVER (ORDER BY monetary, customer_id) AS m_score
FROM agg) TO '{{out}}' (FORMAT parquet)
"""


def worker(engine, events, out, runs, cast_time=False):
    # cast_time (writers.py, for files whose event_time the query cannot compare as it is, such
    # as nanosecond or INT96 times): event_time read as a UTC microsecond timestamp first.
    times = []
    if engine == "duckdb":
        import duckdb
        con = duckdb.connect()
        con.execute("SET threads TO 2")
        source = "read_parquet('{events}')"
        if cast_time:
            source = ("(SELECT customer_id, CAST(event_time AS TIMESTAMPTZ) AS event_time, event_type, amount "
                      f"FROM {source})")
        sql = DUCKDB_SQL.replace("read_parquet('{events}')", source)
        for _ in range(runs):
            t = time.perf_counter()
            con.execute(sql.replace("{events}", events).replace("{out}", out))
            times.append(time.perf_counter() - t)
    else:
        import datetime
        import polars as pl
        as_of = datetime.datetime.fromisoformat(AS_OF + "T00:00:00+00:00")
        day = 86_400_000_000
        for _ in range(runs):
            t = time.perf_counter()
            scan = pl.scan_parquet(events)
            if cast_time:
                scan = scan.with_columns(pl.col("event_time").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
            agg = (
                scan
                .filter((pl.col("event_type") == "purchase") & (pl.col("event_time") < as_of))
                .group_by("customer_id")
                .agg(
                    last=pl.col("event_time").max(),
                    first=pl.col("event_time").min(),
                    frequency=pl.len(),
                    monetary=pl.col("amount").fill_null(0).sum().round(2),
                )
                .with_columns(
                    recency_days=(pl.lit(as_of) - pl.col("last")).dt.total_microseconds() // day,
                    t_days=(pl.lit(as_of) - pl.col("first")).dt.total_microseconds() // day,
                )
                .collect()
            )
            n = agg.height
            q, r = divmod(n, 5)
            big = r * (q + 1)

            def ntile(by, descending, name):
                p = pl.col("p")
                score = pl.when(p < big).then(p // (q + 1) + 1).otherwise(r + (p - big) // max(q, 1) + 1)
                return (
                    agg.sort([by, "customer_id"], descending=[descending, False])
                    .with_row_index("p")
                    .select("customer_id", score.alias(name))
                )

            result = (
                agg.select("customer_id", "recency_days", "frequency", "monetary", "t_days")
                .join(ntile("recency_days", True, "r_score"), on="customer_id")
                .join(ntile("frequency", False, "f_score"), on="customer_id")
                .join(ntile("monetary", False, "m_score"), on="customer_id")
            )
            result.write_parquet(out)
            times.append(time.perf_counter() - t)
    print(json.dumps(times))


def venv_python():
    """The venv's interpreter, with every pin installed (the venv is created on first use)."""
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
    return python


def in_venv(args, env=None):
    return subprocess.run([venv_python(), *args], check=True, capture_output=True, text=True, env=env).stdout


def compare(outputs):
    script = (
        "import sys, polars as pl\n"
        "cols = ['customer_id','recency_days','frequency','monetary','t_days','r_score','f_score','m_score']\n"
        "frames = []\n"
        "for p in sys.argv[1:]:\n"
        "    df = pl.read_parquet(p).select(cols).with_columns((pl.col('monetary') * 100).round().cast(pl.Int64),\n"
        "        *[pl.col(c).cast(pl.Int64) for c in cols if c != 'monetary']).sort('customer_id')\n"
        "    frames.append(df)\n"
        "print(all(f.equals(frames[0]) for f in frames[1:]), frames[0].height)\n"
    )
    return in_venv(["-c", script, *outputs]).split()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "clientele-cli"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    clientele = os.path.join(target, "release", "clientele")
    print("| customers | Clientele s | DuckDB s | Polars s | faster of DuckDB/Polars ÷ Clientele | outputs equal |")
    print("|---|---|---|---|---|---|")
    for n in args.customers:
        events = os.path.join(DATA, f"events-{n}.parquet")
        if not os.path.exists(events):
            subprocess.run([clientele, "generate", "--customers", str(n), "--seed", "42", "--out", events], check=True, capture_output=True)
        outs = {e: os.path.join(DATA, f"rfm-{e}-{n}.parquet") for e in ("clientele", "duckdb", "polars")}
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            subprocess.run([clientele, "--threads", "2", "rfm", "--input", events, "--as-of", AS_OF, "--out", outs["clientele"]],
                           check=True, capture_output=True)
            times.append(time.perf_counter() - t)
        ours = statistics.median(times)
        env = dict(os.environ, POLARS_MAX_THREADS="2")
        duck = statistics.median(json.loads(in_venv([__file__, "--worker", "duckdb", events, outs["duckdb"], str(args.runs)])))
        pola = statistics.median(json.loads(in_venv([__file__, "--worker", "polars", events, outs["polars"], str(args.runs)], env)))
        equal, rows = compare(list(outs.values()))
        print(f"| {n:,} | {ours:.2f} | {duck:.2f} | {pola:.2f} | {min(duck, pola) / ours:.2f}x | {equal} ({int(rows):,} rows) |", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6:] == ["--cast-time"])
    else:
        main()
