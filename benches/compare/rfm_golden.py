#!/usr/bin/env python3
"""Regenerate testdata/rfm/: a small generated event log and DuckDB's RFM + NTILE(5) of it.

    python3 benches/compare/rfm_golden.py

Creates benches/compare/.venv with a pinned DuckDB on first use (nothing is installed
elsewhere), builds the `clientele` binary, and writes:
  testdata/rfm/events.parquet     clientele generate --customers 1500 --seed 7
  testdata/rfm/duckdb_rfm.csv     DuckDB's answer (the SQL below), ordered by customer_id
The Rust test crates/clientele/tests/rfm.rs checks Clientele's RFM kernel against it row for row.
"""
import os
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
VENV = os.path.join(HERE, ".venv")
DUCKDB = "duckdb==2.0.0"
OUT = os.path.join(ROOT, "testdata", "rfm")
AS_OF = "2025-07-01"

SQL = f"""
WITH purchases AS (
    SELECT customer_id, event_time, amount
    FROM read_parquet('{{events}}')
    WHERE event_type = 'purchase' AND event_time < TIMESTAMPTZ '{AS_OF} 00:00:00+00'
), agg AS (
    SELECT customer_id,
           CAST(floor((epoch(TIMESTAMPTZ '{AS_OF} 00:00:00+00') - epoch(max(event_time))) / 86400) AS BIGINT) AS recency_days,
           count(*) AS frequency,
           round(sum(coalesce(amount, 0)), 2) AS monetary,
           CAST(floor((epoch(TIMESTAMPTZ '{AS_OF} 00:00:00+00') - epoch(min(event_time))) / 86400) AS BIGINT) AS t_days
    FROM purchases
    GROUP BY customer_id
)
SELECT customer_id, recency_days, frequency, monetary, t_days,
       NTILE(5) OVER (ORDER BY recency_days DESC, customer_id) AS r_score,
       NTILE(5) OVER (ORDER BY frequency, customer_id) AS f_score,
       NTILE(5) OVER (ORDER BY monetary, customer_id) AS m_score
FROM agg
ORDER BY customer_id
"""


def python_in_venv():
    exe = os.path.join(VENV, "bin", "python")
    if not os.path.exists(exe):
        venv.create(VENV, with_pip=True)
    # The venv is shared with the other compare scripts: install the pin if not recorded yet.
    marker = os.path.join(VENV, "clientele-pins.txt")
    have = set(open(marker).read().split()) if os.path.exists(marker) else set()
    if DUCKDB not in have:
        subprocess.run([exe, "-m", "pip", "install", "-q", DUCKDB], check=True)
        with open(marker, "w") as f:
            f.write("\n".join(sorted(have | {DUCKDB})))
    return exe


def main():
    os.makedirs(OUT, exist_ok=True)
    events = os.path.join(OUT, "events.parquet")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "clientele-cli"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    binary = os.path.join(target, "release", "clientele")
    subprocess.run([binary, "generate", "--customers", "1500", "--seed", "7", "--out", events], check=True)
    query = SQL.replace("{events}", events)
    golden = os.path.join(OUT, "duckdb_rfm.csv")
    script = (
        "import duckdb, sys\n"
        "con = duckdb.connect()\n"
        "con.execute(\"SET threads TO 2\")\n"
        f"con.sql({query!r}).write_csv({golden!r})\n"
        "print(duckdb.__version__)\n"
    )
    version = subprocess.run([python_in_venv(), "-c", script], check=True, capture_output=True, text=True).stdout.strip()
    print(f"wrote {events} and {golden} (DuckDB {version}, as of {AS_OF})")


if __name__ == "__main__":
    sys.exit(main())
