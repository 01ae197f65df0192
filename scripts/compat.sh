#!/usr/bin/env bash
# The pyspark versions sparkpush claims (pyspark>=4.0,<5), each proven by the compat subset of
# the integration tests (`-m compat`) run with that version's client AND embedded server, after
# the unit tests with that version.
# One venv per version, cached under ~/.cache/sparkpush-compat/<version> and reused when present.
#   bash scripts/compat.sh              # every tested version
#   bash scripts/compat.sh 4.0.5        # one version
#   bash scripts/compat.sh --setup-only # make the venvs, run nothing
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The latest patch of each minor line below the one in .venv (update when a patch comes out).
TESTED_VERSIONS=(4.0.5 4.1.4)
CACHE="${SPARKPUSH_COMPAT_CACHE:-$HOME/.cache/sparkpush-compat}"
PYTHON="${PYTHON:-python3}"

setup_only=false
versions=()
for arg in "$@"; do
  if [ "$arg" = "--setup-only" ]; then setup_only=true; else versions+=("$arg"); fi
done
[ "${#versions[@]}" -gt 0 ] || versions=("${TESTED_VERSIONS[@]}")

has_pyspark() {  # venv version
  [ -x "$1/bin/python" ] && "$1/bin/python" - "$2" <<'EOF' 2>/dev/null
import sys
import pyspark
sys.exit(pyspark.__version__ != sys.argv[1])
EOF
}

make_venv() {  # version
  local venv="$CACHE/$1"
  if has_pyspark "$venv" "$1"; then
    echo "compat: pyspark $1: cached venv $venv" >&2
  else
    echo "compat: pyspark $1: creating $venv (downloads pyspark, ~450 MB)" >&2
    rm -rf "$venv"
    mkdir -p "$CACHE"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
  fi
  # sparkpush from this checkout with its dependencies, pyspark held at the version under test;
  # skipped (no index asked) when the venv already holds what this checkout's pyproject.toml
  # asks for, installed editable from this very checkout
  local stamp="$venv/.sparkpush-installed"
  local wanted
  wanted="$1 $PWD $(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
    echo "compat: pyspark $1: dependencies unchanged since the last install" >&2
  else
    rm -f "$stamp"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      -e '.[dev]' "pyspark[connect]==$1"
    echo "$wanted" >"$stamp"
  fi
  has_pyspark "$venv" "$1" || { echo "compat: $venv has no pyspark $1" >&2; exit 1; }
}

for version in "${versions[@]}"; do make_venv "$version"; done
"$setup_only" && exit 0

run_version() {  # version: the unit tests (the protocol classes of that pyspark, no server)
  # and the subset, in one run (one start, one collection)
  local started=$SECONDS status=0
  "$CACHE/$1/bin/python" -m pytest -m "not integration or compat" -q -ra -p no:cacheprovider \
    -n "${SPARKPUSH_TEST_WORKERS:-2}" --dist loadfile tests/unit tests/integration || status=$?
  echo "compat: pyspark $1: $((SECONDS - started)) s" >&2
  return "$status"
}

# The versions at once, each with its own servers and log (a run waits on its servers much of
# the time: one after the other left the two cores half idle); the logs are shown in order.
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
pids=()
# a signal to this script alone (not its group) reaches the runs too: their servers stop with them
trap 'kill -TERM "${pids[@]}" 2>/dev/null; exit 143' INT TERM
for version in "${versions[@]}"; do
  echo "compat: pyspark $version: client and embedded server $version" >&2
  run_version "$version" >"$logs/$version.log" 2>&1 &
  pids+=("$!")
done
status=0
for index in "${!versions[@]}"; do
  wait "${pids[$index]}" || status=1
  echo "--- compat: pyspark ${versions[$index]} ---" >&2
  cat "$logs/${versions[$index]}.log" >&2
done
exit "$status"
