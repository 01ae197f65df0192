#!/usr/bin/env bash
# Set up, then run SimpleApp on the embedded Spark Connect server (started if needed).
source "$(dirname "$0")/bootstrap.sh"
connect submit --py-files examples/text_predicates.py examples/simple_app.py examples/data/README.md
echo "(the embedded server keeps running for the next job; stop it with: .venv/bin/connect server stop)" >&2
