#!/usr/bin/env bash
# Set up, then lint and run the whole test suite against a real embedded Spark Connect server.
source "$(dirname "$0")/bootstrap.sh"
# The TLS proxy tests (tests/integration/test_tls_proxy.py) put nginx in front of the server.
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ] && command -v apt-get >/dev/null; then
  SUDO=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO="sudo -n"; fi
  if [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; then
    echo "installing nginx for the TLS proxy tests" >&2
    $SUDO apt-get update -qq >/dev/null \
      && { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null \
        || $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; } \
      || echo "could not install nginx: the TLS proxy tests will fail" >&2
  fi
fi
# The JDBC proof (tests/integration/test_packages_jdbc.py) reads a PostgreSQL of its own
# through the driver from Debian's Maven layout (/usr/share/maven-repo).
if { ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
     || [ ! -d /usr/share/maven-repo/org/postgresql/postgresql ]; } && command -v apt-get >/dev/null; then
  SUDO=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO="sudo -n"; fi
  if [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; then
    echo "installing postgresql and libpostgresql-jdbc-java for the JDBC test" >&2
    # the test makes its own cluster: no system cluster to start and leave running
    $SUDO mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" \
      | $SUDO tee /etc/postgresql-common/createcluster.d/sparkpush-tests.conf >/dev/null
    $SUDO apt-get update -qq >/dev/null \
      && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        postgresql libpostgresql-jdbc-java >/dev/null \
      || echo "could not install postgresql: the JDBC test will be skipped" >&2
  fi
fi
ruff check .
ruff format --check .
mypy sparkpush tests
mypy benchmarks  # apart: its tests.py would clash with the tests package
# Two pytest-xdist workers, each with a server of its own (the integration tests leave a core
# idle much of the time while a server starts, a JVM compiles or a daemon waits); a test file
# stays on one worker, and files are handed out in collection order (the long ones first:
# tests/conftest.py).
# SPARKPUSH_TEST_WORKERS=0 runs serially; a later -n in "$@" wins.
python -m pytest -n "${SPARKPUSH_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
