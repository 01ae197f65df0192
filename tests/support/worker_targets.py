"""The workers the unit tests pretend a server has: one Linux x86_64 CPython 3.11 target."""

from __future__ import annotations

from sparkpush.remote.worker_target import WorkerTarget

LINUX_WORKERS = WorkerTarget(
    python="3.11",
    implementation="cp",
    abi="cp311",
    system="linux",
    machine="x86_64",
    platform="linux_x86_64",
    glibc="2.28",
    executable="/opt/python/bin/python3.11",
    provided={"numpy": "1.26.4", "pyspark": "4.0.0"},
)
"""What a probe of a typical Linux cluster's workers answers (`tests.unit.test_server_facts`
reads it from a probe's answer, `tests.unit.test_environment_build` builds for it)."""
