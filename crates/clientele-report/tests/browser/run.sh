#!/usr/bin/env bash
# Real-browser check of a Clientele HTML report.
#
#   run.sh REPORT.html --expect-sections a,b,c [--screenshot out.png] [--json out.json] ...
#       Ensures Chromium is installed (apt-get on Debian/Ubuntu), then runs
#       check_report.py with all arguments passed through; its exit code is ours.
#   run.sh --ensure-chromium
#       Only ensures Chromium; exits 0 if available, 77 if skipped.
#
# When Chromium is missing and cannot be installed, prints a loud SKIP and exits
# 0 (77 with --ensure-chromium), unless CLIENTELE_REQUIRE_CHROMIUM=1, in which
# case it fails with exit 2.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REQUIRE="${CLIENTELE_REQUIRE_CHROMIUM:-0}"

ensure_only=0
if [[ "${1:-}" == "--ensure-chromium" ]]; then
  ensure_only=1
  shift
fi

# An explicit --chromium PATH or $CHROMIUM means the caller chose the browser.
explicit_chromium=""
prev=""
for arg in "$@"; do
  case "$arg" in
    --chromium=*) explicit_chromium="${arg#--chromium=}" ;;
  esac
  if [[ "$prev" == "--chromium" ]]; then explicit_chromium="$arg"; fi
  prev="$arg"
done
if [[ -z "$explicit_chromium" && -n "${CHROMIUM:-}" ]]; then
  explicit_chromium="$CHROMIUM"
fi

have_chromium() {
  if [[ -n "$explicit_chromium" ]]; then
    command -v "$explicit_chromium" >/dev/null 2>&1
    return
  fi
  local c
  for c in chromium chromium-browser google-chrome; do
    if command -v "$c" >/dev/null 2>&1; then return 0; fi
  done
  return 1
}

install_chromium() {
  local sudo=()
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "run.sh: apt-get not available; cannot install Chromium" >&2
    return 1
  fi
  if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      echo "run.sh: not root and no password-less sudo; cannot install Chromium" >&2
      return 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists first when apt does not know a candidate yet.
  if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    echo "run.sh: apt-get update" >&2
    "${sudo[@]}" apt-get update -q || return 1
  fi
  echo "run.sh: installing chromium with apt-get (this can take a few minutes)" >&2
  if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends chromium; then
    # The lists may be stale (404 on an old .deb): refresh once and retry.
    "${sudo[@]}" apt-get update -q || return 1
    "${sudo[@]}" apt-get install -y -q --no-install-recommends chromium || return 1
  fi
  return 0
}

skip_or_fail() {
  local why="$1"
  if [[ "$REQUIRE" == "1" ]]; then
    echo "run.sh: ERROR: $why (CLIENTELE_REQUIRE_CHROMIUM=1)" >&2
    exit 2
  fi
  {
    echo "##########################################################################"
    echo "## SKIP: clientele-report browser check NOT RUN: $why"
    echo "## Set CLIENTELE_REQUIRE_CHROMIUM=1 to make this a failure."
    echo "##########################################################################"
  } >&2
  if [[ "$ensure_only" == 1 ]]; then exit 77; fi
  exit 0
}

if ! have_chromium; then
  if [[ -n "$explicit_chromium" ]]; then
    skip_or_fail "requested Chromium '$explicit_chromium' not found"
  fi
  install_chromium || true
  if ! have_chromium; then
    skip_or_fail "Chromium is not installed and could not be installed"
  fi
fi

if [[ "$ensure_only" == 1 ]]; then
  exit 0
fi

exec python3 "$HERE/check_report.py" "$@"
