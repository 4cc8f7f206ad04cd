#!/usr/bin/env python3
"""Is `ingest --append` incremental? (issue 15 item 5)

    python3 benches/compare/append_pays.py [--customers 1000000] [--runs 3]
        [--clientele target/release/clientele] [--parquet FILE] [--share 0.01]
        [--store-format ipc|parquet]

The events are `clientele generate --customers N --seed 42` (written once into
$CLIENTELE_BENCH_DIR, default /tmp/clientele-bench) or --parquet FILE. In the compare venv
(benches/compare/.venv, pyarrow), they are split by event time into `base.parquet` (the earliest
99%) and `new.parquet` (the latest --share of the events: a day's or a week's new orders, for
existing and new customers), both written with pyarrow's defaults. Then, as whole processes on
2 threads, median of --runs:

- `ingest` of the whole file (the full ingest an append is measured against), into a store of
  --store-format (default ipc; parquet: one Parquet events file, whose appends are IPC
  segments beside it);
- `ingest --append` of new.parquet into a fresh copy of the base store (target: at most 10% of
  the full ingest's time), with its phases as the CLI prints them;
- the same append again: refused (exit code and message);
- what the segment costs every later command: `rfm --store` and `summary --store` on the
  appended store against the same commands on a fully ingested store, and after `compact`;
- byte-identical outputs: rfm, summary and a 360 card from the appended store, the compacted
  store and the full ingest, compared with `cmp`.
"""
import argparse
import filecmp
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from rfm_compare import ROOT, in_venv  # noqa: E402  (the shared venv with pyarrow)
from store_pays import du, run_rss  # noqa: E402

DATA = os.environ.get("CLIENTELE_BENCH_DIR", "/tmp/clientele-bench") + "/append"

SPLIT = """
import sys, pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
src, base, new, share = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
t = pq.read_table(src)
times = t.column("event_time")
cut = pc.quantile(pc.cast(times, pa.int64()), q=1.0 - share, interpolation="higher")[0].as_py()
late = pc.greater_equal(pc.cast(times, pa.int64()), cut)
b, n = t.filter(pc.invert(late)), t.filter(late)
pq.write_table(b, base)
pq.write_table(n, new)
ids_b = set(b.column("customer_id").to_pylist())
ids_n = set(n.column("customer_id").to_pylist())
print(f"{b.num_rows} {n.num_rows} {len(ids_n)} {len(ids_n - ids_b)} {n.column('customer_id')[0].as_py()}")
"""


def timed(cmd, runs, before=None):
    """Median wall time and peak RSS of cmd over runs (before() runs untimed each time)."""
    times, rss, out = [], [], b""
    for _ in range(runs):
        if before:
            before()
        t, r, out = run_rss(cmd)
        times.append(t)
        rss.append(r)
    return statistics.median(times), max(rss), out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--clientele", default=os.path.join(ROOT, "target", "release", "clientele"))
    ap.add_argument("--parquet", help="events file to use instead of a generated one")
    ap.add_argument("--share", type=float, default=0.01, help="share of the events appended")
    ap.add_argument("--store-format", default="ipc", choices=["ipc", "parquet"])
    ap.add_argument("--lookup", help="customer key of the 360 card compared (default: the first appended)")
    a = ap.parse_args()
    cli = os.path.abspath(a.clientele)
    os.makedirs(DATA, exist_ok=True)
    src = a.parquet or os.path.join(DATA, f"events-{a.customers}.parquet")
    if not os.path.exists(src):
        subprocess.run([cli, "generate", "--customers", str(a.customers), "--seed", "42", "--out", src], check=True)
    base_pq, new_pq = os.path.join(DATA, "base.parquet"), os.path.join(DATA, "new.parquet")
    nb, nn, cust_new, cust_unseen, first = in_venv(["-c", SPLIT, src, base_pq, new_pq, str(a.share)]).split()
    nb, nn, cust_new, cust_unseen = int(nb), int(nn), int(cust_new), int(cust_unseen)
    lookup = a.lookup or first
    print(f"split of {src}: base {nb:,} events, appended {nn:,} events ({nn / (nb + nn):.2%}) of "
          f"{cust_new:,} customers, {cust_unseen:,} of them new")
    c2 = [cli, "--threads", "2"]
    fmt = a.store_format
    full, base, appended = (os.path.join(DATA, f"{s}-{fmt}") for s in ("store-full", "store-base", "store-appended"))
    as_fmt = ["--store-format", fmt]

    t_full, rss_full, _ = timed(c2 + ["ingest", "--input", src, "--store", full] + as_fmt, a.runs)
    print(f"full ingest of all events ({fmt} store): {t_full:.2f} s, peak RSS {rss_full:.0f} MB")
    t_base, _, _ = timed(c2 + ["ingest", "--input", base_pq, "--store", base] + as_fmt, 1)
    print(f"ingest of base.parquet: {t_base:.2f} s")

    def fresh():
        shutil.rmtree(appended, ignore_errors=True)
        shutil.copytree(base, appended)

    t_app, rss_app, out = timed(c2 + ["ingest", "--append", "--input", new_pq, "--store", appended], a.runs, fresh)
    print(f"ingest --append of new.parquet: {t_app:.3f} s = {t_app / t_full:.1%} of the full ingest "
          f"(target <= 10%), peak RSS {rss_app:.0f} MB")
    for line in out.decode().splitlines():
        print("   ", line)
    print(f"  store sizes: base {du(base) / 1e6:.1f} MB, appended {du(appended) / 1e6:.1f} MB, "
          f"full {du(full) / 1e6:.1f} MB")
    again = subprocess.run(c2 + ["ingest", "--append", "--input", new_pq, "--store", appended],
                           capture_output=True, text=True)
    print(f"same file appended again: exit {again.returncode}: {again.stderr.strip()}")

    compacted = os.path.join(DATA, f"store-compacted-{fmt}")
    shutil.rmtree(compacted, ignore_errors=True)
    shutil.copytree(appended, compacted)
    t_compact, _, _ = run_rss(c2 + ["compact", "--store", compacted])
    print(f"compact: {t_compact:.2f} s")

    jobs = {
        "rfm": (["rfm"], ["--as-of", "2026-01-01"]),
        "summary": (["summary"], ["--calibration-end", "2025-12-31", "--period", "day", "--time-unit", "week"]),
    }
    same = True
    for name, (pre, post) in jobs.items():
        row = []
        outs = []
        for label, store in (("full", full), ("appended", appended), ("compacted", compacted)):
            o = os.path.join(DATA, f"{name}-{label}.parquet")
            t, r, _ = timed(c2 + pre + ["--store", store] + post + ["--out", o], a.runs)
            row.append(f"{label} {t:.2f} s / {r:.0f} MB")
            outs.append(o)
        ident = all(filecmp.cmp(outs[0], o, shallow=False) for o in outs[1:])
        same &= ident
        print(f"{name} --store: {', '.join(row)}; outputs identical: {ident}")
    cards = [run_rss(c2 + ["customer", lookup, "--store", s])[2] for s in (full, appended, compacted)]
    ident = cards[0] == cards[1] == cards[2] and len(cards[0]) > 0
    same &= ident
    t_full_card, _, _ = timed(c2 + ["customer", lookup, "--store", full], max(a.runs, 5))
    t_card, _, _ = timed(c2 + ["customer", lookup, "--store", appended], max(a.runs, 5))
    print(f"customer {lookup} (has appended events) --store: full {t_full_card * 1000:.0f} ms, "
          f"appended {t_card * 1000:.0f} ms (target < 50 ms); cards identical: {ident}")
    if not same:
        sys.exit("outputs differ")


if __name__ == "__main__":
    main()
