#!/usr/bin/env python3
"""The writer matrix: one event set, rewritten as common Parquet writers lay it out, through Clientele.

    python3 benches/compare/writers.py [--customers 1000000] [--runs 3]
        [--clientele target/release/clientele] [--threads 2] [--only NAME ...] [--no-engines]

Generates one event set with `clientele generate --seed 42` (the arrow-rs default file) and
rewrites it, in benches/compare/.venv (the venv and pins of rfm_compare.py: DuckDB, Polars,
pyarrow), once per writer default or setting (see MATRIX below; one variant at a time on top of
the pyarrow default). Data go to $CLIENTELE_BENCH_DIR/writers/n<customers>/ (default
/tmp/clientele-bench), results to results.json beside them.

For every file it then
1. runs `clientele rfm`, `clientele summary` and `clientele clv` with `--input FILE` and
   compares each output, row for row after sorting by customer_id (cast to string on both
   sides when a side's key is a string), exactly (floats too; the max abs difference is given
   when not), with the reference: the same command on the arrow-rs default file
   (`clientele generate`'s output). The reference itself is checked against the store path
   (an Arrow IPC copy of the same table, `--input X.arrow`, which always ingests into a store).
   The date32 variant loses the time of day, so its reference is the same commands on a file
   whose event times are truncated to midnight UTC but kept as timestamp[us, UTC] (also
   checked against its IPC copy); DuckDB's RFM on the date32 file is a third, independent
   check;
2. says whether each command took the Parquet fast path (streamed from the file's columns:
   the CLI prints "(streamed from Parquet)" on stderr) or built a store, and why not (the
   type checks of `PurchaseScan::open`, crates/clientele/src/kernels/scan/mod.rs, re-done on
   the file's Arrow schema), and whether the page decoder (kernels/scan/pages.rs) can read the columns or
   the scan decodes them with the Arrow reader. `clv --input` summarizes through the same
   scan (pipeline/summary.rs: customer_summary) and prints no signal: when it prints none on
   any file it is taken to stream exactly when `rfm` does (marked *);
3. times RFM with three NTILE(5) scores, Parquet in -> Parquet out, --threads threads:
   Clientele as the whole `clientele rfm` process (wall), DuckDB and Polars with
   rfm_compare.py's workers (their own readers, timed inside their process, start-up
   excluded), the median of --runs runs; peak RSS from wait4() (Clientele: the largest of its
   runs; DuckDB / Polars: the worker process, interpreter and all its runs included).
   DuckDB's and Polars' outputs are compared with the reference RFM as rfm_compare.py does
   (money in cents). Where their query does not bind on a file's time type (nanosecond
   times), it is timed again with event_time cast to timestamp[us, UTC] first, marked "(cast)".

The binary is not built here (pass --clientele). Prints two markdown tables (correctness and
fast path; time and memory).
"""
import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the work tree from importing rfm_compare
import rfm_compare  # noqa: E402  (the shared venv, pins, AS_OF and the DuckDB / Polars workers)
from rfm_compare import AS_OF, ROOT, in_venv, venv_python  # noqa: E402

DATA = os.environ.get("CLIENTELE_BENCH_DIR", "/tmp/clientele-bench") + "/writers"
SUMMARY_ARGS = ["--calibration-end", "2025-06-30", "--observation-end", "2025-12-31", "--period", "week"]
CLV_ARGS = ["--calibration-end", "2025-12-31", "--period", "week", "--horizon", "12m", "--discount-monthly", "0.01"]
SCAN = "crates/clientele/src/kernels/scan/mod.rs"
PAGES = "crates/clientele/src/kernels/scan/pages.rs"

# name, what it is, reference ("base": the arrow-rs default file; "midnight": times truncated).
MATRIX = [
    ("arrowrs-default", "arrow-rs defaults: the file `clientele generate` writes (zstd, 1M-row groups)", "base"),
    ("pyarrow-default", "pyarrow write_table defaults: snappy, dictionary on, data page v1, 1Mi-row groups", "base"),
    ("pyarrow-pagev2", "pyarrow defaults, data_page_version='2.0'", "base"),
    ("pyarrow-nodict", "pyarrow defaults, use_dictionary=False", "base"),
    ("polars-default", "Polars DataFrame.write_parquet defaults", "base"),
    ("duckdb-default", "DuckDB COPY ... TO (FORMAT parquet) defaults", "base"),
    ("spark-like", "pyarrow: snappy, page v1, dictionary (plain fallback), ~128 MB row groups, no ARROW:schema", "base"),
    ("spark-like-int96", "spark-like with INT96 event times (Spark's default timestamp type)", "base"),
    ("pa-event_type-dictionary", "pyarrow default, event_type stored as dictionary<int32, string>", "base"),
    ("pa-customer_id-string", "pyarrow default, customer_id as string", "base"),
    ("pa-event_time-us-utc", "pyarrow default, event_time timestamp[us, tz=UTC]", "base"),
    ("pa-event_time-ms", "pyarrow default, event_time timestamp[ms, tz=+00:00]", "base"),
    ("pa-event_time-ns", "pyarrow default, event_time timestamp[ns, tz=+00:00] (pandas' unit)", "base"),
    ("pa-event_time-date32", "pyarrow default, event_time date32 (time of day lost)", "midnight"),
    ("pa-amount-decimal128", "pyarrow default, amount decimal128(18, 2)", "base"),
]
# The reference files: the arrow-rs default file, and the same events at midnight UTC.
REFERENCES = {"base": "arrowrs-default", "midnight": "ref-midnight"}


# ---------------------------------------------------------------------------------------------
# Inside the venv: writing the matrix, reading metadata, comparing outputs.
# ---------------------------------------------------------------------------------------------

def task_make(folder):
    """Writes every missing file of the matrix from arrowrs-default.parquet; prints metadata."""
    import duckdb
    import polars as pl
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.feather
    import pyarrow.parquet as pq

    path = lambda name, ext="parquet": os.path.join(folder, f"{name}.{ext}")  # noqa: E731
    base = pq.read_table(path("arrowrs-default"))
    rows = base.num_rows

    def with_column(t, name, array):
        return t.set_column(t.schema.get_field_index(name), name, array)

    def write(name, fn):
        p = path(name)
        if not os.path.exists(p):
            tmp = p + ".tmp"
            fn(tmp)
            os.replace(tmp, p)

    write("pyarrow-default", lambda p: pq.write_table(base, p))
    write("pyarrow-pagev2", lambda p: pq.write_table(base, p, data_page_version="2.0"))
    write("pyarrow-nodict", lambda p: pq.write_table(base, p, use_dictionary=False))
    write("polars-default", lambda p: pl.from_arrow(base).write_parquet(p))

    def duck(p):
        con = duckdb.connect()
        con.execute(f"COPY (SELECT * FROM read_parquet('{path('arrowrs-default')}')) TO '{p}' (FORMAT parquet)")
        con.close()

    write("duckdb-default", duck)
    # Spark's parquet.block.size (128 MB) bounds a row group's buffered (encoded, uncompressed)
    # size: rows per group from the pyarrow-default file's uncompressed bytes per row.
    md = pq.ParquetFile(path("pyarrow-default")).metadata
    per_row = sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups)) / max(rows, 1)
    spark_rows = max(1, int(128 * 2**20 / per_row))
    spark = dict(compression="snappy", data_page_version="1.0", use_dictionary=True,
                 row_group_size=spark_rows, store_schema=False)
    write("spark-like", lambda p: pq.write_table(base, p, **spark))
    write("spark-like-int96", lambda p: pq.write_table(base, p, use_deprecated_int96_timestamps=True, **spark))

    times = base["event_time"]
    write("pa-event_type-dictionary",
          lambda p: pq.write_table(with_column(base, "event_type", pc.dictionary_encode(base["event_type"])), p))
    write("pa-customer_id-string",
          lambda p: pq.write_table(with_column(base, "customer_id", pc.cast(base["customer_id"], pa.string())), p))
    write("pa-event_time-us-utc",
          lambda p: pq.write_table(with_column(base, "event_time", pc.cast(times, pa.timestamp("us", tz="UTC"))), p))
    tz = times.type.tz
    ms = pc.cast(times, pa.timestamp("ms", tz=tz))
    assert pc.all(pc.equal(pc.cast(ms, times.type), times)).as_py(), "event times are not whole milliseconds"
    write("pa-event_time-ms", lambda p: pq.write_table(with_column(base, "event_time", ms), p))
    write("pa-event_time-ns",
          lambda p: pq.write_table(with_column(base, "event_time", pc.cast(times, pa.timestamp("ns", tz=tz))), p))
    # Midnight UTC of each event's day: the date32 file's times, and its reference's.
    day_us = 86_400_000_000
    raw = pc.cast(times, pa.int64())
    assert pc.min(raw).as_py() >= 0, "events before 1970: integer division would not floor"
    days = pc.divide(raw, day_us)  # integer division, a floor for times after 1970
    midnight = pc.cast(pc.multiply(days, day_us), times.type)
    dates = pc.cast(pc.cast(days, pa.int32()), pa.date32())
    assert pc.all(pc.equal(pc.cast(times, pa.date32()), dates)).as_py(), "date32 cast is not the UTC day"
    write("pa-event_time-date32", lambda p: pq.write_table(with_column(base, "event_time", dates), p))
    midnight_table = with_column(base, "event_time", midnight)
    write("ref-midnight", lambda p: pq.write_table(midnight_table, p))
    amount = base["amount"]
    try:
        dec = pc.cast(amount, pa.decimal128(18, 2))
    except pa.ArrowInvalid:
        dec = pc.cast(pc.round(amount, 2), pa.decimal128(18, 2), safe=False)
    # (Through text: pyarrow's decimal -> float64 cast is not correctly rounded, 157.64 gives
    # 157.64000000000001.)
    back = pc.cast(pc.cast(dec, pa.string()), pa.float64())
    assert pc.all(pc.equal(back, amount)).as_py() is True and back.null_count == amount.null_count, \
        "decimal128(18, 2) does not hold the amounts exactly"
    write("pa-amount-decimal128", lambda p: pq.write_table(with_column(base, "amount", dec), p))
    # Arrow IPC copies of the references: `--input X.arrow` always goes through a store.
    for name, table in (("arrowrs-default", base), ("ref-midnight", midnight_table)):
        if not os.path.exists(path(name, "arrow")):
            pyarrow.feather.write_feather(table, path(name, "arrow") + ".tmp", compression="uncompressed")
            os.replace(path(name, "arrow") + ".tmp", path(name, "arrow"))
    meta = {name: inspect(path(name)) for name, _, _ in MATRIX}
    meta["ref-midnight"] = inspect(path("ref-midnight"))
    meta["_spark_row_group_rows"] = spark_rows
    print(json.dumps(meta))


def inspect(p):
    """The file's layout, and what the purchase scan (kernels/scan) will make of it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    f = pq.ParquetFile(p)
    md, schema = f.metadata, f.schema_arrow
    cols = ["customer_id", "event_time", "event_type", "amount"]
    types = {c: str(schema.field(c).type) for c in cols}
    leaves = {md.schema.column(i).path: i for i in range(md.num_columns)}
    physical = {c: md.schema.column(leaves[c]).physical_type for c in cols}
    encodings, codecs = {c: set() for c in cols}, set()
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        for c in cols:
            cc = rg.column(leaves[c])
            encodings[c] |= set(cc.encodings)
            codecs.add(cc.compression)
    out = {
        "bytes": os.path.getsize(p),
        "rows": md.num_rows,
        "row_groups": md.num_row_groups,
        "created_by": md.created_by,
        "arrow_schema_stored": b"ARROW:schema" in (md.metadata or {}),
        "types": types,
        "physical": physical,
        "encodings": {c: sorted(e) for c, e in encodings.items()},
        "codecs": sorted(codecs),
    }
    # PurchaseScan::open's checks (kernels/scan/mod.rs), in its order, on the Arrow schema the
    # file gives (the stored ARROW:schema, else the Parquet types; pyarrow and arrow-rs agree).
    t = {c: schema.field(c).type for c in cols}
    reasons = []
    if t["customer_id"] != pa.int64():
        reasons.append(f"customer_id is {t['customer_id']}, not Int64 ({SCAN}:121)")
    if not (pa.types.is_timestamp(t["event_time"]) and t["event_time"].unit in ("s", "ms", "us")):
        reasons.append(f"event_time is {t['event_time']}: micros_per_unit() takes only s/ms/us timestamps "
                       f"({SCAN}:92, checked at :122)")
    if t["amount"] != pa.float64():
        reasons.append(f"amount is {t['amount']}, not Float64 ({SCAN}:123)")
    if t["event_type"] != pa.string():
        reasons.append(f"event_type is {t['event_type']}, not Utf8 ({SCAN}:124)")
    if not reasons:
        lo, hi = None, None
        for g in range(md.num_row_groups):
            s = md.row_group(g).column(leaves["customer_id"]).statistics
            if s is None or not s.has_min_max:
                reasons.append(f"a row group has no customer_id min/max statistics ({SCAN}:147-149)")
                break
            lo = s.min if lo is None else min(lo, s.min)
            hi = s.max if hi is None else max(hi, s.max)
        if not reasons and hi - lo + 1 > min(4 * md.num_rows, 1 << 28):
            reasons.append(f"customer_id range {hi - lo + 1} > min(4 x rows, 2^28) ({SCAN}:161)")
        order = [schema.get_field_index(c) for c in cols]
        if not reasons and order != sorted(order):
            reasons.append(f"columns not in key, time, type, amount order ({SCAN}:191)")
    out["scan_predicted"] = not reasons
    out["scan_refusal"] = "; ".join(reasons)
    # pages::Layout::new (pages.rs:96-118): flat INT64 key and time, BYTE_ARRAY type, DOUBLE
    # amount; data pages PLAIN / dictionary, or DELTA_BINARY_PACKED on INT64 (pages.rs:263-267).
    want = {"customer_id": "INT64", "event_time": "INT64", "event_type": "BYTE_ARRAY", "amount": "DOUBLE"}
    page = []
    for c in cols:
        if physical[c] != want[c]:
            page.append(f"{c} is {physical[c]}, not {want[c]} ({PAGES}:115-118)")
            continue
        ok = {"PLAIN", "RLE", "BIT_PACKED", "RLE_DICTIONARY", "PLAIN_DICTIONARY"}
        if want[c] == "INT64":
            ok.add("DELTA_BINARY_PACKED")
        bad = sorted(encodings[c] - ok)
        if bad:
            page.append(f"{c} pages in {', '.join(bad)} ({PAGES}:263-267)")
    out["page_decoder"] = "yes" if not page else "no: " + "; ".join(page)
    return out


def task_compare(pairs_json):
    """Compares Clientele outputs with their references; prints one result per pair."""
    print(json.dumps([compare_tables(ref, out) for ref, out in json.loads(pairs_json)]))


def compare_tables(ref, out):
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    digest = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()  # noqa: E731
    a, b = pq.read_table(ref), pq.read_table(out)
    res = {"bytes_equal": digest(ref) == digest(out), "rows": [a.num_rows, b.num_rows], "columns": {}}
    if a.column_names != b.column_names:
        res["column_names"] = [a.column_names, b.column_names]
    key = "customer_id"
    if a.schema.field(key).type != b.schema.field(key).type or pa.types.is_string(a.schema.field(key).type):
        a = a.set_column(a.schema.get_field_index(key), key, pc.cast(a[key], pa.string()))
        b = b.set_column(b.schema.get_field_index(key), key, pc.cast(b[key], pa.string()))
        res["key_compared_as"] = "string"
    if a.num_rows != b.num_rows:
        res["equal"] = False
        return res
    a, b = a.sort_by(key), b.sort_by(key)
    equal = a.column_names == b.column_names
    for c in a.column_names:
        if c not in b.column_names:
            continue
        x, y = a[c].combine_chunks(), b[c].combine_chunks()
        info = {}
        if x.type != y.type:
            info["types"] = [str(x.type), str(y.type)]
            try:
                y = pc.cast(y, x.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                res["columns"][c] = info | {"equal": False}
                equal = False
                continue
        if pa.types.is_timestamp(x.type) or pa.types.is_date(x.type):
            x, y = pc.cast(x, pa.int64()), pc.cast(y, pa.int64())
        nulls_differ = not pc.all(pc.equal(pc.is_null(x), pc.is_null(y))).as_py()
        ne = pc.fill_null(pc.not_equal(x, y), False)
        if pa.types.is_floating(x.type):
            ne = pc.and_(ne, pc.invert(pc.and_(pc.is_nan(x), pc.is_nan(y))))
        differing = pc.sum(pc.cast(ne, pa.int64())).as_py() or 0
        if differing or nulls_differ:
            equal = False
            info |= {"equal": False, "rows_differing": differing, "nulls_differ": nulls_differ}
            if pa.types.is_integer(x.type) or pa.types.is_floating(x.type) or pa.types.is_decimal(x.type):
                d = pc.abs(pc.subtract(pc.cast(x, pa.float64()), pc.cast(y, pa.float64())))
                info["max_abs_diff"] = pc.max(pc.filter(d, ne)).as_py() if differing else 0.0
            res["columns"][c] = info
        elif info:
            res["columns"][c] = info | {"equal": True}
    res["equal"] = equal
    if not res["columns"]:
        del res["columns"]
    return res


# ---------------------------------------------------------------------------------------------
# Outside: running the processes, measuring, reporting.
# ---------------------------------------------------------------------------------------------

def venv_task(*args):
    """Runs one of this file's tasks in the venv (rfm_compare.in_venv); its last stdout line as JSON."""
    try:
        out = in_venv([os.path.abspath(__file__), "--task", *args])
    except subprocess.CalledProcessError as e:
        sys.stderr.write(e.stderr or "")
        raise SystemExit(f"task {args[0]} failed in the venv")
    return json.loads(out.strip().splitlines()[-1])


def measured(cmd, env=None):
    """Runs `cmd` to completion: exit code, wall seconds, peak RSS (MB, wait4), stdout, stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - started
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "rc": p.returncode,
            "wall": wall,
            "rss_mb": usage.ru_maxrss / 1024,
            "stdout": out.read().decode(errors="replace"),
            "stderr": err.read().decode(errors="replace"),
        }


def clientele_cmd(binary, threads, command, events, out, extra):
    return [binary, "--threads", str(threads), command, "--input", events, *extra, "--out", out]


def run_clientele(binary, threads, command, events, out, extra):
    cmd = clientele_cmd(binary, threads, command, events, out, extra)
    r = measured(cmd)
    result = {"cmd": " ".join(cmd), "rc": r["rc"], "wall": r["wall"], "rss_mb": r["rss_mb"],
              "streamed": "(streamed from Parquet)" in r["stderr"],
              "stderr_tail": r["stderr"].strip().splitlines()[-3:]}
    return result, r


def engine_run(engine, events, out, runs, threads):
    """rfm_compare.py's DuckDB / Polars worker on `events`: median seconds and peak RSS."""
    env = dict(os.environ, POLARS_MAX_THREADS=str(threads))
    if engine == "duckdb" and threads != 2:
        raise SystemExit("rfm_compare.py's DuckDB worker runs with 2 threads; use --threads 2")
    cmd = [venv_python(), rfm_compare.__file__, "--worker", engine, events, out, str(runs)]
    r = measured(cmd, env)
    result = {}
    if r["rc"] != 0:
        # The query as rfm_compare.py writes it does not bind on some time types (DuckDB:
        # TIMESTAMPTZ_NS vs TIMESTAMPTZ; Polars: a naive ns time vs a UTC literal): again with
        # event_time cast to a UTC microsecond timestamp first, and say so.
        result["error_as_is"] = error_line(r["stderr"], r["rc"])
        r = measured([*cmd, "--cast-time"], env)
        result["cast_time"] = True
    if r["rc"] != 0:
        return result | {"error": error_line(r["stderr"], r["rc"]), "rss_mb": r["rss_mb"]}
    times = json.loads(r["stdout"].strip().splitlines()[-1])
    return result | {"median": statistics.median(times), "times": times, "rss_mb": r["rss_mb"]}


def error_line(stderr, rc):
    """The line of a Python traceback that names the exception."""
    lines = [x.strip() for x in stderr.strip().splitlines() if x.strip()]
    named = [x for x in lines if "Error" in x.split(":")[0] or "Exception" in x.split(":")[0]]
    return (named or lines or [f"exit {rc}"])[-1]


def engine_equal(ref, out):
    """rfm_compare.py's comparison (money in cents, every other column as Int64)."""
    try:
        equal, rows = rfm_compare.compare([ref, out])
        return equal == "True"
    except subprocess.CalledProcessError as e:
        lines = [x for x in (e.stderr or "").strip().splitlines() if x.strip()]
        return "error: " + (lines[-1] if lines else str(e))


def sha256(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def yes(x):
    return "yes" if x is True else ("no" if x is False else str(x))


def describe_equal(c):
    """A compare result in a table cell."""
    if c is None:
        return "n/a"
    if c.get("equal"):
        return "yes (bytes)" if c.get("bytes_equal") else "yes"
    if c["rows"][0] != c["rows"][1]:
        return f"no (rows {c['rows'][0]} vs {c['rows'][1]})"
    diffs = []
    for name, info in c.get("columns", {}).items():
        if info.get("equal") is False:
            d = info.get("max_abs_diff")
            diffs.append(f"{name} {info.get('rows_differing', '?')} rows" + (f", max {d:g}" if d is not None else ""))
    return "no: " + "; ".join(diffs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    ap.add_argument("--clientele", default=os.path.join(target, "release", "clientele"),
                    help="the clientele binary (not built here; default: $CARGO_TARGET_DIR or target/, release)")
    ap.add_argument("--only", nargs="+", help="files of the matrix to run (names as in MATRIX)")
    ap.add_argument("--no-engines", action="store_true", help="skip DuckDB and Polars")
    args = ap.parse_args()
    binary = os.path.abspath(args.clientele)
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"no clientele binary at {binary}: build it (cargo build --release -p clientele-cli) "
                         "or pass --clientele")
    folder = os.path.join(DATA, f"n{args.customers}")
    os.makedirs(folder, exist_ok=True)
    path = lambda name, ext="parquet": os.path.join(folder, f"{name}.{ext}")  # noqa: E731
    outs = os.path.join(folder, "out")
    os.makedirs(outs, exist_ok=True)
    binary_sha = sha256(binary)

    if not os.path.exists(path("arrowrs-default")):
        subprocess.run([binary, "generate", "--customers", str(args.customers), "--seed", "42",
                        "--out", path("arrowrs-default")], check=True, capture_output=True)
    print(f"writing the matrix in {folder} ...", file=sys.stderr, flush=True)
    meta = venv_task("make", folder)

    commands = {"rfm": ["--as-of", AS_OF], "summary": SUMMARY_ARGS, "clv": CLV_ARGS}

    def outputs(tag, events):
        """Runs rfm, summary and clv once on `events`; returns {command: (result, out path)}."""
        res = {}
        for command, extra in commands.items():
            out = os.path.join(outs, f"{tag}.{command}.parquet")
            r, _ = run_clientele(binary, args.threads, command, events, out, extra)
            res[command] = (r, out if r["rc"] == 0 else None)
        return res

    # The references, and their check against the store path (Arrow IPC copies).
    refs, ref_checks = {}, {}
    for kind, name in REFERENCES.items():
        print(f"reference {name} ...", file=sys.stderr, flush=True)
        refs[kind] = outputs(f"ref-{kind}", path(name))
        ipc = outputs(f"ref-{kind}-ipc", path(name, "arrow"))
        pairs = [(refs[kind][c][1], ipc[c][1]) for c in commands]
        if any(p is None for pair in pairs for p in pair):
            raise SystemExit(f"clientele failed on the reference {name}: "
                             + json.dumps({c: (refs[kind][c][0], ipc[c][0]) for c in commands}))
        checks = venv_task("compare", json.dumps(pairs))
        ref_checks[kind] = dict(zip(commands, checks))
        ref_checks[kind]["streamed"] = refs[kind]["rfm"][0]["streamed"]
    ref_rfm_duckdb = {}

    results = []
    names = [m for m in MATRIX if not args.only or m[0] in args.only]
    for name, what, ref_kind in names:
        print(f"{name} ...", file=sys.stderr, flush=True)
        events = path(name)
        entry = {"file": name, "what": what, "path": events, "reference": REFERENCES[ref_kind], "meta": meta[name]}
        # Correctness: rfm (its first run), summary and clv, against the reference.
        runs = []
        rfm_out = os.path.join(outs, f"{name}.rfm.parquet")
        for _ in range(args.runs):
            r, _ = run_clientele(binary, args.threads, "rfm", events, rfm_out, commands["rfm"])
            runs.append(r)
            if r["rc"] != 0:
                break
        first = runs[0]
        entry["clientele"] = {
            "cmd": first["cmd"],
            "ok": all(r["rc"] == 0 for r in runs),
            "streamed": first["streamed"],
            "times": [r["wall"] for r in runs],
            "median": statistics.median(r["wall"] for r in runs),
            "rss_mb": max(r["rss_mb"] for r in runs),
            "stderr_tail": first["stderr_tail"],
        }
        produced = {"rfm": rfm_out if entry["clientele"]["ok"] else None}
        entry["commands"] = {"rfm": {k: first[k] for k in ("cmd", "rc", "streamed", "stderr_tail")}}
        for command in ("summary", "clv"):
            out = os.path.join(outs, f"{name}.{command}.parquet")
            r, _ = run_clientele(binary, args.threads, command, events, out, commands[command])
            entry["commands"][command] = r
            produced[command] = out if r["rc"] == 0 else None
        pairs = [(refs[ref_kind][c][1], produced[c]) for c in commands if produced[c]]
        checks = venv_task("compare", json.dumps(pairs))
        entry["equal"] = {}
        for c in commands:
            entry["equal"][c] = checks.pop(0) if produced[c] else None
        # DuckDB and Polars on the same file.
        if not args.no_engines:
            for engine in ("duckdb", "polars"):
                out = os.path.join(outs, f"{name}.{engine}.parquet")
                e = engine_run(engine, events, out, args.runs, args.threads)
                if "error" not in e:
                    e["equal_to_reference"] = engine_equal(refs[ref_kind]["rfm"][1], out)
                entry[engine] = e
            if ref_kind == "midnight":
                ref_rfm_duckdb[name] = entry["duckdb"].get("equal_to_reference")
        results.append(entry)

    # Correctness and fast path.
    print(f"\n### Writer matrix, {args.customers:,} customers: correctness and fast path\n")
    print(f"clientele {binary} (sha256 {binary_sha[:12]}); reference: arrowrs-default "
          f"(rfm streamed: {yes(ref_checks['base']['streamed'])}); reference = store path (IPC copy): "
          + ", ".join(f"{c} {describe_equal(ref_checks['base'][c])}" for c in commands)
          + "; midnight reference = its store path: "
          + ", ".join(f"{c} {describe_equal(ref_checks['midnight'][c])}" for c in commands) + "\n")
    # `clv` (and, in older binaries, `summary`) print no signal: a clv that printed none is
    # taken to follow rfm, whose PurchaseScan it shares.
    clv_signal = any(e["commands"]["clv"]["streamed"] for e in results)
    summary_signal = any(e["commands"]["summary"]["streamed"] for e in results)
    print("| file | MB | row groups | key / time / type / amount (Arrow) | fast path: rfm / summary / clv "
          "| page decoder (predicted) "
          "| rfm = ref | summary = ref | clv = ref | why not streamed |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for e in results:
        m = e["meta"]
        t = m["types"]
        streamed = e["clientele"]["streamed"]
        why = "" if streamed else (m["scan_refusal"] or "types accepted: refused while scanning (a row the store would reject?)")
        if not e["clientele"]["ok"]:
            why = "CLI failed: " + " / ".join(e["clientele"]["stderr_tail"])
        page = m["page_decoder"] if streamed else "n/a"
        cmds = e["commands"]
        clv = yes(cmds["clv"]["streamed"]) if clv_signal else yes(streamed) + "*"
        fast = f"{yes(streamed)} / {yes(cmds['summary']['streamed'])} / {clv}"
        print(f"| {e['file']} | {m['bytes'] / 2**20:.1f} | {m['row_groups']} | {t['customer_id']} / {t['event_time']} / "
              f"{t['event_type']} / {t['amount']} | {fast} | {page} | {describe_equal(e['equal']['rfm'])} "
              f"| {describe_equal(e['equal']['summary'])} | {describe_equal(e['equal']['clv'])} | {why} |")
    print("\nFast path: the command printed \"(streamed from Parquet)\" on stderr.")
    if not clv_signal:
        print("\n\\* `clv` prints no such signal: taken from `rfm`, whose PurchaseScan `clv --input` shares "
              "(customer_summary, crates/clientele/src/pipeline/summary.rs:164-166); its peak RSS in "
              "results.json tells the two paths apart.")
    if not summary_signal:
        print("\n`summary` streamed on no file: this binary's `summary --input` builds a store first "
              "(load() then summarize(), crates/clientele-cli/src/cmd/summary.rs:51 at the commit tested).")

    if not args.no_engines:
        print(f"\n### RFM (three NTILE(5) scores), Parquet in -> Parquet out, {args.threads} threads, "
              f"median of {args.runs}, peak RSS\n")
        print("| file | Clientele s | MB | DuckDB s | MB | Polars s | MB | faster ÷ Clientele "
              "| equal to ref: Clientele / DuckDB / Polars |")
        print("|---|---|---|---|---|---|---|---|---|")
        for e in results:
            c, d, p = e["clientele"], e["duckdb"], e["polars"]

            def cell(x):
                if "error" in x:
                    return ("error", f"{x['rss_mb']:.0f}")
                return (f"{x['median']:.3f}" + (" (cast)" if x.get("cast_time") else ""), f"{x['rss_mb']:.0f}")

            engines = [x["median"] for x in (d, p) if "error" not in x]
            ratio = f"{min(engines) / c['median']:.2f}x" if engines and c["ok"] else "n/a"
            eq = [yes(e["equal"]["rfm"]["equal"]) if e["equal"]["rfm"] else "n/a"]
            for x in (d, p):
                eq.append("n/a" if "error" in x else yes(x["equal_to_reference"]))
            print(f"| {e['file']} | {c['median']:.3f} | {c['rss_mb']:.0f} | {' | '.join(cell(d))} | {' | '.join(cell(p))} "
                  f"| {ratio} | {' / '.join(eq)} |")
        if any("error_as_is" in e[x] for e in results for x in ("duckdb", "polars")):
            print("\n(cast): rfm_compare.py's query failed on the file as it is and was timed with event_time "
                  "cast to timestamp[us, UTC] first (`--cast-time`); the errors:")
        for e in results:
            for x in ("duckdb", "polars"):
                for key in ("error_as_is", "error"):
                    if key in e[x]:
                        what = "failed as is" if key == "error_as_is" else "failed with --cast-time too"
                        print(f"- {x} on {e['file']} {what}: {e[x][key]}")

    failures = [(e["file"], c, e["commands"][c]) for e in results for c in commands
                if e["commands"][c]["rc"] != 0]
    for f, c, r in failures:
        print(f"\nclientele {c} failed on {f}: `{r['cmd']}`: {' / '.join(r['stderr_tail'])}")

    report = {
        "customers": args.customers,
        "runs": args.runs,
        "threads": args.threads,
        "as_of": AS_OF,
        "summary_args": SUMMARY_ARGS,
        "clv_args": CLV_ARGS,
        "clientele": binary,
        "clientele_sha256": binary_sha,
        "pins": rfm_compare.PINS,
        "spark_row_group_rows": meta["_spark_row_group_rows"],
        "reference_checks": ref_checks,
        "reference_runs": {k: {c: v[c][0] for c in commands} for k, v in refs.items()},
        "date32_duckdb_equal_to_midnight_reference": ref_rfm_duckdb,
        "files": results,
    }
    with open(os.path.join(folder, "results.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(f"\nresults: {os.path.join(folder, 'results.json')}")
    if sha256(binary) != binary_sha:
        print("WARNING: the clientele binary changed during the run", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--task":
        {"make": task_make, "compare": task_compare}[sys.argv[2]](*sys.argv[3:])
    else:
        main()
