#!/usr/bin/env bash
# Builds the Python bindings into a virtualenv and runs their pytest suite.
#
#   crates/clientele-py/tests/run.sh [pytest args...]
#
# The venv (crates/clientele-py/.venv, or $CLIENTELE_PY_VENV) gets the pinned test
# dependencies on first use: lifetimes 0.11.3 with the pandas / NumPy / SciPy it was written
# for (the versions benches/compare/clv_compare.py uses), pyarrow, polars, DuckDB, PySpark, pytest
# and maturin. The Spark tests need Java (17+) on PATH; .ci/run installs it when missing.
# The extension is built in release mode with `maturin develop`, into $CARGO_TARGET_DIR when set.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${CLIENTELE_PY_VENV:-$HERE/.venv}"
PINS=(lifetimes==0.11.3 pandas==2.2.3 numpy==1.26.4 scipy==1.13.1 pyarrow==17.0.0 autograd==1.7.0
      polars==1.17.1 duckdb==1.1.3 pyspark==4.0.1 pytest==8.3.4 maturin==1.16.0)
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
MARKER="$VENV/clientele-pins.txt"
if [ "$(cat "$MARKER" 2>/dev/null)" != "${PINS[*]}" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PINS[@]}"
  echo "${PINS[*]}" > "$MARKER"
fi
# maturin develop installs into the venv it is run from
( cd "$HERE" && VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" maturin develop --release --locked -q )
cd "$HERE"
"$VENV/bin/python" -m pytest -q tests "$@"
