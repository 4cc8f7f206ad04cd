#!/usr/bin/env bash
# Self-test of the browser harness: the good fixture must pass, the bad one
# must fail with each planted defect named. Needs Chromium (installed via
# run.sh when possible; SKIPs like run.sh when it cannot be).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CHECK=(python3 "$HERE/check_report.py")
SECTIONS="segments,activity,campaigns"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

rc=0
"$HERE/run.sh" --ensure-chromium || rc=$?
if [[ $rc -eq 77 ]]; then exit 0; fi
if [[ $rc -ne 0 ]]; then exit "$rc"; fi

failures=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }

# run_check NAME EXPECTED_RC ARGS...  -> output in $TMP/NAME.out
run_check() {
  local name="$1" want="$2"; shift 2
  local got=0
  "${CHECK[@]}" "$@" >"$TMP/$name.out" 2>&1 || got=$?
  echo "---- $name (exit $got) ----"
  sed 's/^/    /' "$TMP/$name.out"
  if [[ $got -eq $want ]]; then pass "$name exits $want"; else fail "$name exits $got, expected $want"; fi
}

expect_line() {  # NAME FIXED-STRING DESCRIPTION
  if grep -qF -- "$2" "$TMP/$1.out"; then pass "$1: $3"; else fail "$1: $3 (no '$2' in output)"; fi
}

# 1. good.html passes, with a real screenshot and the expected counts.
run_check good 0 "$HERE/fixtures/good.html" --expect-sections "$SECTIONS" \
  --screenshot "$TMP/good.png" --json "$TMP/good.json"
expect_line good "RESULT: PASS" "summary says PASS"
if python3 - "$TMP/good.json" "$TMP/good.png" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
png = open(sys.argv[2], "rb").read()
t = d["totals"]
assert d["ok"] and d["failures"] == [], d["failures"]
assert (t["sections"], t["charts"], t["marks"]) == (3, 2, 7), t
assert d["sections"]["missing"] == [], d["sections"]
assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000, len(png)
assert d["screenshot"]["width"] >= 1000 and d["screenshot"]["height"] >= 500, d["screenshot"]
assert d["load"]["page_load_ms"] is not None
bars = {c["chart"]: c for c in d["charts"]}["segment-sizes"]
assert bars["bar_lengths_px"] == [220, 82.5, 146.667], bars
PY
then pass "good: JSON facts (3 sections, 2 charts, 7 marks, PNG screenshot)"
else fail "good: JSON facts"; fi

# 2. bad.html fails with exactly the four planted defects named.
run_check bad 1 "$HERE/fixtures/bad.html" --expect-sections "$SECTIONS" --json "$TMP/bad.json"
expect_line bad "FAIL [console-error] console.error: fixture: deliberate console error" "console error reported"
expect_line bad "FAIL [missing-section] expected section 'campaigns' not found" "missing section reported"
expect_line bad "FAIL [bar-order] chart 'segment-sizes'" "bar order contradiction reported"
expect_line bad "FAIL [marks-mismatch] chart 'activity-heatmap' (section 'activity'): data-marks=5 but g.marks contains 4 shapes" "data-marks mismatch reported"
codes="$(python3 -c 'import json,sys; print(",".join(sorted({f["code"] for f in json.load(open(sys.argv[1]))["failures"]})))' "$TMP/bad.json")"
if [[ "$codes" == "bar-order,console-error,marks-mismatch,missing-section" ]]; then
  pass "bad: no other failure kinds ($codes)"
else
  fail "bad: failure kinds are '$codes'"
fi

# 3. A report that pulls a resource from the network fails.
cat >"$TMP/net.html" <<'HTML'
<!DOCTYPE html><html><head><meta charset="utf-8"><title>net</title></head><body>
<main id="clientele-report"><section class="report-section" data-section="segments">
<h2>Segments</h2><p class="reading">x</p>
<img src="https://cdn.example.invalid/logo.png" alt=""></section></main></body></html>
HTML
run_check net 1 "$TMP/net.html" --expect-sections segments
expect_line net "FAIL [network] report fetched from network: https://cdn.example.invalid/logo.png" "network fetch reported"

# 4. No Chromium -> setup error, exit 2.
run_check nochromium 2 "$HERE/fixtures/good.html" --expect-sections "$SECTIONS" --chromium /nonexistent/chromium
expect_line nochromium "no Chromium found" "clear message"

echo
if [[ $failures -ne 0 ]]; then
  echo "selftest: $failures assertion(s) FAILED"
  exit 1
fi
echo "selftest: all assertions passed"
