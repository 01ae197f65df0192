"""Python worker daemons of released sessions: how many pile up, how fast they go, at what cost.

Starts its own embedded server (free port, temporary state dir, always stopped). Creates
SESSIONS sessions one after the other, each running one Python UDF and then released, as a
dev loop that makes a session per run would; counts the Python worker processes
(`pyspark.daemon` and its forked workers) in the server's process session right after and
until none is left (at most DRAIN_LIMIT_S); reports the reaper's memory and CPU time, and what a
live session pays when its idle daemon was stopped (its next UDF call, against a warm call).
Then the baseline, in the same run on the same server: the reaper is stopped, the same
SESSIONS sessions are made and released, and the worker processes they left are counted after
the same wait. Prints human lines, then one JSON line.

    .venv/bin/python benchmarks/worker_daemons.py [--sessions 12]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import time
from pathlib import Path

from _server import BenchServer, bench_server, pyspark_token_env, sigterm_as_interrupt

from sparkpush.server.process_group import ProcessInfo, all_processes, wait_gone
from sparkpush.server.reaper import is_worker_daemon

DRAIN_LIMIT_S = 180.0
REAPER_STOP_S = 10.0


def python_processes(session: int) -> list[ProcessInfo]:
    """Live `pyspark.daemon` processes (daemons and their forked workers) in `session`."""
    return [p for p in all_processes() if p.session == session and is_worker_daemon(p)]


def daemons_only(processes: list[ProcessInfo]) -> list[ProcessInfo]:
    """The daemons among `processes`, not the workers they forked."""
    pids = {p.pid for p in processes}
    return [p for p in processes if p.ppid not in pids]


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


def make_sessions(server: BenchServer, sessions: int) -> float:
    """SESSIONS sessions one after the other, each runs one UDF and is released; seconds."""
    from pyspark.sql import SparkSession

    started = time.perf_counter()
    for _ in range(sessions):
        spark = SparkSession.builder.remote(server.url).create()
        udf_call_seconds(spark)
        spark.stop()
    return time.perf_counter() - started


def stop_reaper(pid: int) -> None:
    os.kill(pid, signal.SIGTERM)
    if not wait_gone(pid, REAPER_STOP_S):
        raise SystemExit(f"the reaper {pid} did not stop within {REAPER_STOP_S:.0f} s")


def run(server: BenchServer, sessions: int) -> dict[str, object]:
    from pyspark.sql import SparkSession

    session = server.state.pid
    reaper = server.state.reaper_pid
    assert reaper is not None
    live = SparkSession.builder.remote(server.url).create()
    udf_call_seconds(live)
    warm_call = udf_call_seconds(live)
    made = make_sessions(server, sessions)
    peak = len(python_processes(session))
    drain_started = time.perf_counter()
    while len(python_processes(session)) > 0:
        if time.perf_counter() - drain_started > DRAIN_LIMIT_S:
            break
        time.sleep(1)
    drained = time.perf_counter() - drain_started
    left = len(python_processes(session))
    after_reap_call = udf_call_seconds(live)
    live.stop()
    reaper_rss, reaper_cpu = rss_mib(reaper), cpu_seconds(reaper)
    reaper_uptime = time.time() - server.state.started_at

    # baseline: the same sessions without the reaper, counted after the same wait
    stop_reaper(reaper)
    before = {p.key for p in python_processes(session)}  # the live session's daemon
    baseline_made = make_sessions(server, sessions)
    baseline_peak = [p for p in python_processes(session) if p.key not in before]
    time.sleep(drained)
    baseline_left = [p for p in python_processes(session) if p.key not in before]
    return {
        "sessions": sessions,
        "sessions_s": round(made, 1),
        "python_processes_after": peak,
        "drain_s": round(drained, 1),
        "python_processes_left": left,
        "reaper_rss_mib": round(reaper_rss, 1),
        "reaper_cpu_s": round(reaper_cpu, 2),
        "reaper_uptime_s": round(reaper_uptime, 0),
        "warm_udf_call_s": round(warm_call, 2),
        "udf_call_after_reap_s": round(after_reap_call, 2),
        "baseline_sessions_s": round(baseline_made, 1),
        "baseline_python_processes_after": len(baseline_peak),
        "baseline_wait_s": round(drained, 1),
        "baseline_python_processes_left": len(baseline_left),
        "baseline_daemons_left": len(daemons_only(baseline_left)),
        "baseline_excluded_earlier_processes": len(before),
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
    print(
        f"baseline, reaper stopped: {result['sessions']} sessions again in "
        f"{result['baseline_sessions_s']} s; {result['baseline_python_processes_after']} Python "
        f"processes right after, {result['baseline_python_processes_left']} still there after "
        f"the same {result['baseline_wait_s']} s ({result['baseline_daemons_left']} daemons; "
        f"{result['baseline_excluded_earlier_processes']} from before the pass not counted)"
    )
    print(
        f"left after {result['drain_s']} s: {result['python_processes_left']} with the reaper, "
        f"{result['baseline_python_processes_left']} without"
    )
    result["machine"] = f"{platform.machine()} {os.cpu_count()} cores"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
