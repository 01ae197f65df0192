#!/usr/bin/env bash
# Set up, then lint and run the whole test suite against a real embedded Spark Connect server.
source "$(dirname "$0")/bootstrap.sh"
ruff check .
ruff format --check .
python -m pytest "$@"
