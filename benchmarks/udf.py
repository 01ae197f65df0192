"""UDF registration: load, pickle and register 50 UDFs; edit-to-callable time of one change.

Starts its own embedded server (free port, temporary state dir, always stopped). The
edit-to-callable time runs from writing the changed module to the first SQL answer that shows
the new result, through `ready_session` (sync + UDF registration) and `run_sql` on the
session, as the watch daemon would; with the warm forking loader, and for comparison with a
cold loader process per sync. Goal: p50 <= 300 ms (warm). Prints human lines, then one JSON
line.

    .venv/bin/python benchmarks/udf.py [--edits 20] [--cold-edits 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sparkpush.config.settings import Config, ServerSettings, load_config
from sparkpush.connect.sql_query import run_sql
from sparkpush.remote.target import Target, embedded_spec, probe_embedded
from sparkpush.server.process import start_server, stop_server
from sparkpush.state.server_state import StateFiles
from sparkpush.sync.generation import Generation
from sparkpush.sync.ready_session import ready_session
from sparkpush.sync.udf_sources import udf_sources_signature
from sparkpush.udf.loading import ColdLoader, Loader
from sparkpush.udf.registration import UdfContext, register_project_udfs
from sparkpush.udf.warm_loader import WarmLoader

UDF_COUNT = 50
EDITED = 7
GOAL_P50_MS = 300.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def udf_module(edit: int) -> str:
    """50 scalar UDFs; UDF number EDITED adds `1000 * edit`, so each edit shows."""
    lines = ["from pyspark.sql.functions import udf", "import helpers", ""]
    for i in range(UDF_COUNT):
        offset = 1000 * edit if i == EDITED else 0
        lines += [
            '@udf("bigint")',
            f"def f_{i}(x):",
            f"    return helpers.scale(x) + {i} + {offset}",
            "",
        ]
    return "\n".join(lines)


def register_all(config: Config, target: Target, current: Generation, loader: Loader) -> None:
    """Load, pickle and register every UDF of the project anew on the current session."""
    register_project_udfs(
        UdfContext(config, target, current.session_id, loader=loader),
        current.udfs,
        generation=current.number,
        sources=udf_sources_signature(config),
        force=True,
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def edit_to_callable(
    root: Path, target: Target, loader: Loader, edits: range, label: str
) -> list[float]:
    """Milliseconds from each file write to the SQL answer with the new value."""
    config = load_config(cwd=root)
    took: list[float] = []
    for edit in edits:
        started = time.perf_counter()
        (root / "udfs.py").write_text(udf_module(edit))
        generation = ready_session(config, target, loader=loader).current_generation
        assert generation is not None
        with target.client(generation.session_id, generation.server_side_session_id) as client:
            table = run_sql(client, f"SELECT f_{EDITED}(CAST(1 AS BIGINT)) AS v")
        assert table is not None
        answer = table.column("v")[0].as_py()
        elapsed = (time.perf_counter() - started) * 1000
        expected = 2 + EDITED + 1000 * edit
        if answer != expected:
            raise SystemExit(f"{label} edit {edit}: got {answer}, expected {expected}")
        took.append(elapsed)
        print(f"  {label} edit {edit}: {elapsed:.0f} ms")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--cold-edits", type=int, default=5)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sparkpush-bench-udf-"))
    files = StateFiles(work / "state")
    root = work / "project"
    root.mkdir()
    (root / "helpers.py").write_text("def scale(x):\n    return x * 2\n")
    (root / "udfs.py").write_text(udf_module(0))
    (root / "pyproject.toml").write_text('[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n')
    print(f"starting a Spark Connect server in {work}")
    state, _ = start_server(
        ServerSettings(port=free_port(), master="local[2]"), files, probe_embedded
    )
    target = Target(spec=embedded_spec(state), source="embedded")
    warm = WarmLoader()
    try:
        config = load_config(cwd=root)
        started = time.perf_counter()
        generation = ready_session(config, target).current_generation
        assert generation is not None
        first_sync = time.perf_counter() - started
        print(
            f"first sync (new session, worker Python probe, {UDF_COUNT} UDFs): {first_sync:.2f} s"
        )

        started = time.perf_counter()
        register_all(config, target, generation, ColdLoader())
        cold_all = time.perf_counter() - started
        print(f"load, pickle, register {UDF_COUNT} UDFs, cold loader: {cold_all * 1000:.0f} ms")

        register_all(config, target, generation, warm)  # warm it up
        started = time.perf_counter()
        register_all(config, target, generation, warm)
        warm_all = time.perf_counter() - started
        print(f"load, pickle, register {UDF_COUNT} UDFs, warm loader: {warm_all * 1000:.0f} ms")

        print(f"edit-to-callable, warm loader ({args.edits} edits of one UDF):")
        warm_ms = edit_to_callable(root, target, warm, range(1, args.edits + 1), "warm")
        print(f"edit-to-callable, cold loader ({args.cold_edits} edits):")
        first_cold = args.edits + 1
        cold_ms = edit_to_callable(
            root, target, ColdLoader(), range(first_cold, first_cold + args.cold_edits), "cold"
        )
    finally:
        warm.close()
        stop_server(files)
    summary = {
        "benchmark": "udf",
        "udfs": UDF_COUNT,
        "first_sync_s": round(first_sync, 3),
        "register_all_cold_ms": round(cold_all * 1000, 1),
        "register_all_warm_ms": round(warm_all * 1000, 1),
        "edit_to_callable_warm_p50_ms": round(statistics.median(warm_ms), 1),
        "edit_to_callable_warm_p95_ms": round(percentile(warm_ms, 0.95), 1),
        "edit_to_callable_cold_p50_ms": round(statistics.median(cold_ms), 1) if cold_ms else None,
        "edits": len(warm_ms),
        "goal_p50_ms": GOAL_P50_MS,
        "goal_met": statistics.median(warm_ms) <= GOAL_P50_MS,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
    }
    print(
        f"edit-to-callable warm p50 {summary['edit_to_callable_warm_p50_ms']} ms, "
        f"p95 {summary['edit_to_callable_warm_p95_ms']} ms "
        f"(goal p50 <= {GOAL_P50_MS:.0f} ms: {'met' if summary['goal_met'] else 'not met'})"
    )
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
