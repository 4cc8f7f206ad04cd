#!/usr/bin/env bash
# End-to-end timings of the `clientele` binary on generated data, as a user runs it:
# median wall time of N runs (warm page cache), printed as a Markdown table.
#
#   bash benches/cli-timings.sh [CUSTOMERS] [RUNS]      (defaults: 1000000 5)
#
# Data goes to ${CLIENTELE_BENCH_DIR:-/tmp/clientele-bench}/cli; it is regenerated only when
# missing (the generator is deterministic).
set -euo pipefail
cd "$(dirname "$0")/.."
customers=${1:-1000000}
runs=${2:-5}
dir=${CLIENTELE_BENCH_DIR:-/tmp/clientele-bench}/cli
mkdir -p "$dir"
cargo build --release -q -p clientele-cli
bin=${CARGO_TARGET_DIR:-target}/release/clientele
events=$dir/events-$customers.parquet
store=$dir/store-$customers
[ -f "$events" ] || "$bin" generate --customers "$customers" --seed 42 --out "$events" 2>/dev/null

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_cmd() { # prints the median seconds of $runs runs of "$@"
  for _ in $(seq "$runs"); do
    local s e
    s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
    echo "$e - $s" | bc
  done | median
}

events_n=$("$bin" ingest --input "$events" --store "$store" | sed -n 's/.*accepted \([0-9]*\),.*/\1/p')
summary_args=(--calibration-end 2025-06-30 --observation-end 2025-12-31 --period week)
t_gen=$(time_cmd "$bin" generate --customers "$customers" --seed 42 --out "$dir/regen.parquet")
t_ingest=$(time_cmd "$bin" ingest --input "$events" --store "$store")
t_file=$(time_cmd "$bin" summary --input "$events" "${summary_args[@]}" --out "$dir/summary-file.parquet")
t_store=$(time_cmd "$bin" summary --store "$store" "${summary_args[@]}" --out "$dir/summary-store.parquet")
cmp -s "$dir/summary-file.parquet" "$dir/summary-store.parquet" && same=yes || same=NO

echo "customers: $customers, events: $events_n, runs: $runs (median), threads: $(nproc)"
echo
echo "| command | median s | events/s |"
echo "|---|---|---|"
for row in "generate (Parquet out)|$t_gen" "ingest (Parquet in, IPC store out)|$t_ingest" \
           "summary --input events.parquet (Parquet out)|$t_file" "summary --store (Parquet out)|$t_store"; do
  name=${row%|*}; t=${row#*|}
  printf '| `%s` | %.2f | %.1fM |\n' "$name" "$t" "$(echo "$events_n / $t / 1000000" | bc -l)"
done
echo
echo "summary outputs from the file and from the store identical: $same"
