"""Python worker daemons of released sessions: how many pile up, how fast they go, at what cost.

Starts its own embedded server (free port, temporary state dir, always stopped). Creates
SESSIONS sessions one after the other, each running one Python UDF and then released, as a
dev loop that makes a session per run would; counts the Python processes in the server's
process session right after and until at most one is left; reports the reaper's memory and
CPU time, and what a live session pays when its idle daemon was stopped (its next UDF call,
against a warm call). Prints human lines, then one JSON line.

    .venv/bin/python benchmarks/worker_daemons.py [--sessions 12]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from _server import BenchServer, bench_server, pyspark_token_env, sigterm_as_interrupt

DRAIN_LIMIT_S = 180.0


def python_processes(session: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            args = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z" and b"pyspark.daemon" in args:
            found.append(int(stat.parent.name))
    return found


def udf_call_seconds(spark: object) -> float:
    from pyspark.sql.functions import udf

    plus_one = udf(lambda x: x + 1, "long")
    started = time.perf_counter()
    spark.range(4).select(plus_one("id")).collect()  # type: ignore[attr-defined]
    return time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(server: BenchServer, sessions: int) -> dict[str, object]:
    from pyspark.sql import SparkSession

    live = SparkSession.builder.remote(server.url).create()
    udf_call_seconds(live)
    warm_call = udf_call_seconds(live)
    started = time.perf_counter()
    for _ in range(sessions):
        spark = SparkSession.builder.remote(server.url).create()
        udf_call_seconds(spark)
        spark.stop()
    made = time.perf_counter() - started
    peak = len(python_processes(server.state.pid))
    drain_started = time.perf_counter()
    while len(python_processes(server.state.pid)) > 0:
        if time.perf_counter() - drain_started > DRAIN_LIMIT_S:
            break
        time.sleep(1)
    drained = time.perf_counter() - drain_started
    left = len(python_processes(server.state.pid))
    after_reap_call = udf_call_seconds(live)
    live.stop()
    reaper = server.state.reaper_pid
    assert reaper is not None
    return {
        "sessions": sessions,
        "sessions_s": round(made, 1),
        "python_processes_after": peak,
        "drain_s": round(drained, 1),
        "python_processes_left": left,
        "reaper_rss_mib": round(rss_mib(reaper), 1),
        "reaper_cpu_s": round(cpu_seconds(reaper), 2),
        "reaper_uptime_s": round(time.time() - server.state.started_at, 0),
        "warm_udf_call_s": round(warm_call, 2),
        "udf_call_after_reap_s": round(after_reap_call, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=12)
    args = parser.parse_args()
    with sigterm_as_interrupt(), bench_server() as server, pyspark_token_env(server):
        result = run(server, args.sessions)
    print(
        f"{result['sessions']} sessions with a UDF, released: {result['sessions_s']} s; "
        f"{result['python_processes_after']} Python processes right after"
    )
    print(
        f"all gone after {result['drain_s']} s ({result['python_processes_left']} left); "
        f"reaper: {result['reaper_rss_mib']} MiB, {result['reaper_cpu_s']} s CPU in "
        f"{result['reaper_uptime_s']:.0f} s"
    )
    print(
        f"live session idle meanwhile: next UDF call {result['udf_call_after_reap_s']} s "
        f"(warm: {result['warm_udf_call_s']} s)"
    )
    result["machine"] = f"{platform.machine()} {os.cpu_count()} cores"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
