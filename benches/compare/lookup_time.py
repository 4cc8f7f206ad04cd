#!/usr/bin/env python3
"""Wall time of a point lookup as a whole process (issue 15 item 4: under 50 ms).

    python3 benches/compare/lookup_time.py --store DIR [--key 1000042] [--runs 21]
        [--clientele target/release/clientele] [--clientele OTHER ...]

Standard library only. Runs `clientele customer KEY --store DIR --recent 5` --runs times per
binary (binaries alternating run by run, output discarded) and prints the median, minimum and
maximum wall time of each, in milliseconds.
"""
import argparse
import os
import statistics
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", required=True)
    ap.add_argument("--key", default="1000042")
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--clientele", action="append",
                    help="binary to time (repeat to compare; default target/release/clientele)")
    a = ap.parse_args()
    bins = a.clientele or [os.path.join(ROOT, "target", "release", "clientele")]
    times = {b: [] for b in bins}
    for _ in range(a.runs):
        for b in bins:
            t = time.perf_counter()
            subprocess.run([b, "customer", a.key, "--store", a.store, "--recent", "5"],
                           stdout=subprocess.DEVNULL, check=True)
            times[b].append(time.perf_counter() - t)
    for b, ts in times.items():
        print(f"{b}: customer {a.key}: median {statistics.median(ts) * 1000:.1f} ms, "
              f"min {min(ts) * 1000:.1f}, max {max(ts) * 1000:.1f} ({a.runs} runs)")


if __name__ == "__main__":
    main()
