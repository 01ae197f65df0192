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

status=0
for version in "${versions[@]}"; do
  make_venv "$version"
  if "$setup_only"; then continue; fi
  started=$SECONDS
  echo "compat: pyspark $version: client and embedded server $version" >&2
  python="$CACHE/$version/bin/python"
  # the unit tests (the protocol classes of that pyspark, no server) and the subset, in one
  # run (one start, one collection), on two workers like the main suite. The versions run one
  # after the other: at once saved ~30 s, but a background run ignores Ctrl-C (SIGINT) and
  # would leave its servers behind.
  if ! "$python" -m pytest -m "not integration or compat" -q -ra -p no:cacheprovider \
    -n "${SPARKPUSH_TEST_WORKERS:-2}" --dist loadfile tests/unit tests/integration; then
    status=1
  fi
  echo "compat: pyspark $version: $((SECONDS - started)) s" >&2
done
exit "$status"
