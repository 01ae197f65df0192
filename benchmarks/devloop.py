"""The dev loop through the watch daemon, against a real embedded server.

    .venv/bin/python benchmarks/devloop.py [--edits 20] [--only udf|class|tree|throttled|latency]
        [--throttled-edits 3] [--link-mbit 100] [--big-deps] [--link-rtt-ms 50]

Measures, with the daemon running in its own process as users run it:
  (a) UDF edit -> the first SQL answer with the new result (goal: p50 <= 150 ms, p95 <= 250);
      with --phases, when each phase was first reached after the write (p50, p95), from the
      marks (`sparkpush.progress.phases`) of this process, the daemon and its loader's forks;
  (b) a recompiled Java class with 50 MB of jars attached -> the first SQL answer from the
      new, warm generation (goal: p50 <= 1.5 s);
  (c) a no-op flush (what read-your-writes costs) on a 10,000-file tree (goal <= 10 ms),
      against the baseline in the same run on the same tree: the flush as it was before the
      watcher barrier, a walk (a no-op `ready_session` in-process with a ProcessCache kept
      between calls, as the daemon did), timed alternately with the flushes;
  (d) the daemon's RSS while watching those 10,000 files (goal <= 150 MB);
  (e) through a throttled link (a bandwidth-limiting TCP proxy in this process, 100 Mbit/s
      each way, a stand-in for a remote cluster) to the server: a project with 200 MB
      (`--big-deps`: 1 GB) of unchanged jars of random bytes and one Java UDF in a class
      folder; recompiling the class -> the first answer of a query using it (a `connect sync`
      and the query), and the bytes sent. Ours (`[tool.sparkpush.layers] enabled = true`) vs
      today's full re-upload (`enabled = false`) in the same run; where this sparkpush has no
      layers setting, both rows measure the full re-upload (goal: <= 5 MB, <= 3 s).
  (f) through a link with latency (the same proxy, no bandwidth limit, `--link-rtt-ms` of
      round-trip time, one more before a new connection's first bytes) and through one of
      0 ms, steps alternating between the two: a class edit -> the first answer of a Java
      UDF (a sync, layers on, 2 MB of jars, then the query), a Python UDF edit ->
      the first answer (registered in place), both with a warm loader as the daemon has,
      and a no-op `connect sync`; the sequential round trips each costs ((t_rtt - t_0) /
      rtt), and the gRPC channels, TCP connections and calls per method it made (counted by
      an interceptor, in this process and in the UDF loader's).
Each edit is timed from the file write to the answer. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _phases import phase_table
from _rpc_count import RpcLog
from _server import BenchServer, bench_server
from _throttle import ThrottledLink

from sparkpush.artifacts.planner import PlanAction
from sparkpush.config.settings import Config, load_config
from sparkpush.connect.sql_query import run_sql
from sparkpush.daemon.client import DaemonConnection, connect_to_daemon
from sparkpush.daemon.control_messages import GenerationReply
from sparkpush.errors import ConfigError
from sparkpush.progress.phases import PHASE_LOG_ENV, mark
from sparkpush.remote.target import Target
from sparkpush.sync.process_cache import ProcessCache
from sparkpush.sync.ready_session import ready_session
from sparkpush.udf.warm_loader import WarmLoader
from tests.jvm import add_constant_udf, compile_java

JAR_MB = 50
TREE_FILES = 10_000
DEPS_MB = 200
BIG_DEPS_MB = 1000
LINK_MBIT = 100.0
GOAL_THROTTLED_MB = 5.0
GOAL_THROTTLED_S = 3.0
LINK_RTT_MS = 50.0
LATENCY_DEPS_MB = 2
MB = 1_000_000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values) * 1000, 1),
        "p95_ms": round(percentile(values, 0.95) * 1000, 1),
        "n": len(values),
    }


def connect_cli(args: list[str], env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "sparkpush", *args], env=env, cwd=cwd, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"connect {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def daemon_connection(root: Path) -> DaemonConnection:
    connection = connect_to_daemon(root)
    if connection is None:
        raise SystemExit("the daemon is not running")
    return connection


def daemon_flush(root: Path) -> GenerationReply:
    with daemon_connection(root) as connection:
        return connection.flush()


def first_answer(target: Target, root: Path, query: str, want: str) -> float:
    """What `connect sql` does right after a save: flush the daemon, query its generation;
    the seconds the query took (after the flush)."""
    mark("bench.flush")
    reply = daemon_flush(root)
    mark("bench.flushed")
    assert reply.session_id is not None, reply.error
    began = time.monotonic()
    with target.client(reply.session_id, reply.server_side_session_id) as client:
        table = run_sql(client, query)
    mark("bench.answered")
    seconds = time.monotonic() - began
    got = str(table.column(0)[0].as_py()) if table is not None else None
    if got != want:
        raise SystemExit(f"stale answer {got!r}, wanted {want!r}: {reply.error}")
    return seconds


def timed_edits(
    edits: int, edit: Callable[[int], str], wait: Callable[[str], object]
) -> list[float]:
    times = []
    for index in range(edits):
        started = time.monotonic()
        mark("bench.edit")
        expected = edit(index)
        wait(expected)
        times.append(time.monotonic() - started)
    return times


def make_jars(folder: Path, total_mb: int) -> None:
    folder.mkdir(parents=True)
    per_jar = 10
    for index in range(total_mb // per_jar):
        with zipfile.ZipFile(folder / f"dep{index}.jar", "w", zipfile.ZIP_STORED) as jar:
            jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
            jar.writestr(f"data/blob{index}.bin", os.urandom(per_jar * 1024 * 1024))


def class_change(server: BenchServer, env: dict[str, str], work: Path, edits: int) -> list[float]:
    root = work / "jvm-project"
    compile_java(add_constant_udf("com.ex", "AddN", 0), "com.ex.AddN", root / "classes")
    make_jars(root / "lib", JAR_MB)
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.artifacts]\nclasses = ["classes"]\njars = ["lib/*.jar"]\n'
        '[tool.sparkpush.java_udfs]\nadd_n = { class = "com.ex.AddN", returns = "bigint" }\n'
    )
    connect_cli(["daemon", "start"], env, root)
    try:
        built = work / "javac-out"
        for index in range(edits):  # compile ahead: javac's own time is not the dev loop's
            compile_java(
                add_constant_udf("com.ex", "AddN", 1000 + index), "com.ex.AddN", built / str(index)
            )
        target_class = root / "classes" / "com" / "ex" / "AddN.class"

        def edit(index: int) -> str:
            fresh = built / str(index) / "com" / "ex" / "AddN.class"
            staged = target_class.with_suffix(".tmp")
            shutil.copyfile(fresh, staged)
            os.replace(staged, target_class)
            return str(1 + 1000 + index)

        return timed_edits(
            edits,
            edit,
            lambda want: first_answer(server.target, root, "SELECT add_n(CAST(1 AS BIGINT))", want),
        )
    finally:
        connect_cli(["daemon", "stop"], env, root)


def udf_edit(
    server: BenchServer,
    env: dict[str, str],
    work: Path,
    edits: int,
    phase_log: Path | None,
    baseline_code: Path | None = None,
) -> dict[str, list[float]]:
    """UDF edits timed from the write to the answer, per side: "ours" (this checkout) and,
    with `baseline_code` (another checkout's top folder, first on the daemon's PYTHONPATH),
    "baseline", each with a daemon of its own on the same server, edits alternating between
    them so that the machine's load hits both alike. With `phase_log`, every process of ours
    (this one, our daemon, its loader's forks) marks its phases in that file."""
    sides = {"ours": env}
    if baseline_code is not None:
        sides["baseline"] = {**env, "PYTHONPATH": str(baseline_code)}
    if phase_log is not None:
        sides["ours"] = {**env, PHASE_LOG_ENV: str(phase_log)}
    roots = {side: work / f"udf-project-{side}" for side in sides}
    times: dict[str, list[float]] = {side: [] for side in sides}
    started: list[str] = []
    try:
        for side, root in roots.items():
            root.mkdir()
            (root / "helpers.py").write_text("def word():\n    return 'w-start'\n")
            (root / "udfs.py").write_text(
                "from pyspark.sql.functions import udf\nimport helpers\n\n"
                "@udf('string')\ndef answer():\n    return helpers.word()\n"
            )
            (root / "pyproject.toml").write_text('[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n')
            connect_cli(["daemon", "start"], sides[side], root)
            started.append(side)
            first_answer(server.target, root, "SELECT answer()", "w-start")  # workers warm
        if phase_log is not None:
            phase_log.unlink(missing_ok=True)  # the timed edits only
        for index in range(edits):
            for side, root in roots.items():
                if phase_log is not None and side == "ours":
                    os.environ[PHASE_LOG_ENV] = str(phase_log)
                try:
                    began = time.monotonic()
                    mark("bench.edit")
                    want = _write_word(root, f"w{index}")
                    query = first_answer(server.target, root, "SELECT answer()", want)
                    total = time.monotonic() - began
                    times[side].append(total)
                    times.setdefault(f"query_first_{side}", []).append(query)
                    times.setdefault(f"reply_{side}", []).append(total - query)
                finally:
                    os.environ.pop(PHASE_LOG_ENV, None)
                if phase_log is not None and side == "ours":
                    for name, text in QUERY_FLOORS.items():
                        if text:
                            times.setdefault(name, []).append(_query_seconds(server, root, text))
        return times
    finally:
        for side in started:
            connect_cli(["daemon", "stop"], sides[side], roots[side])


QUERY_FLOORS = {
    "query_first_ours": "",  # the edit's own first query, timed by `first_answer`
    "query_again": "SELECT answer()",
    "query_job_without_python": "SELECT count(*) FROM range(10)",
}
"""With --phases, after each edit's answer: the same query again, and a Spark job without
Python, each on a new client as the first query: what the first query on the new UDF costs
that any query costs."""


def _query_seconds(server: BenchServer, root: Path, query: str) -> float:
    reply = daemon_flush(root)
    began = time.monotonic()
    with server.target.client(reply.session_id, reply.server_side_session_id) as client:
        run_sql(client, query)
    return time.monotonic() - began


def _write_word(root: Path, word: str) -> str:
    (root / "helpers.py").write_text(f"def word():\n    return '{word}'\n")
    return word


def big_tree(
    target: Target, env: dict[str, str], work: Path, count: int
) -> tuple[list[float], list[float], int, int]:
    """No-op flushes through the daemon (its watcher barrier) and, alternating with them on the
    same tree, the baseline: what the daemon's flush did before the barrier, a no-op
    `ready_session` with a ProcessCache kept between calls (the walk). Returns both timings,
    the daemon's RSS and the syncs the daemon ran while the flushes were timed (0: no walk)."""
    root = work / "tree-project"
    classes = root / "classes"
    for index in range(TREE_FILES):
        folder = classes / "com" / f"p{index // 500}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"C{index}.class").write_bytes(b"\xca\xfe\xba\xbe" + index.to_bytes(8, "big"))
    old = time.time() - 3600
    for path in classes.rglob("*.class"):
        os.utime(path, (old, old))
    (root / "pyproject.toml").write_text('[tool.sparkpush.artifacts]\nclasses = ["classes"]\n')
    connect_cli(["daemon", "start"], env, root)
    try:
        config = load_config(cwd=root)
        reuse = ProcessCache()  # what the daemon kept between its syncs
        current = daemon_flush(root).session_id
        walk_once(config, target, reuse, current)  # fills the cache, as the daemon's first sync
        with daemon_connection(root) as connection:
            status = connection.status()
        flushes: list[float] = []
        walks: list[float] = []
        for _ in range(count):  # alternate, so background load hits both alike
            started = time.monotonic()
            daemon_flush(root)
            flushes.append(time.monotonic() - started)
            started = time.monotonic()
            walk_once(config, target, reuse, current)
            walks.append(time.monotonic() - started)
        with daemon_connection(root) as connection:
            syncs = connection.status().syncs - status.syncs
        rss_kb = 0
        for line in Path(f"/proc/{status.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
        return flushes, walks, rss_kb, syncs
    finally:
        connect_cli(["daemon", "stop"], env, root)


def walk_once(config: Config, target: Target, reuse: ProcessCache, session_id: str | None) -> None:
    """The daemon's flush before the watcher barrier: a sync that walks and finds nothing."""
    result = ready_session(config, target, keep_old=True, warm_up=True, reuse=reuse)
    if result.action is not PlanAction.NOTHING or result.session_id != session_id:
        raise SystemExit(f"the walk was no no-op: {result.action}, {result.reasons}")


def make_random_jars(folder: Path, total_mb: int, per_jar_mb: int = 50) -> list[Path]:
    """Jars of incompressible bytes (stored, not deflated) adding up to `total_mb` MB."""
    folder.mkdir(parents=True)
    jars = []
    for index in range(max(1, total_mb // per_jar_mb)):
        jar = folder / f"dep{index:02d}.jar"
        with zipfile.ZipFile(jar, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
            with archive.open(f"data/blob{index}.bin", "w", force_zip64=True) as blob:
                for _ in range(per_jar_mb):
                    blob.write(os.urandom(MB))
        jars.append(jar)
    return jars


def layers_setting_known(work: Path) -> bool:
    """Whether this sparkpush reads `[tool.sparkpush.layers]` (the layered generations)."""
    probe = work / "layers-probe"
    probe.mkdir()
    (probe / "pyproject.toml").write_text("[tool.sparkpush.layers]\nenabled = false\n")
    try:
        load_config(cwd=probe)
    except ConfigError:
        return False
    return True


def throttled_project(root: Path, jars: list[Path], layers: bool | None) -> Path:
    """A class folder with the AddN UDF, `jars` linked in (no copy); layers on/off if known."""
    compile_java(add_constant_udf("com.ex", "AddN", 0), "com.ex.AddN", root / "classes")
    (root / "lib").mkdir()
    for jar in jars:
        os.link(jar, root / "lib" / jar.name)
    layers_table = "" if layers is None else f"[tool.sparkpush.layers]\nenabled = {layers}\n"
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.artifacts]\nclasses = ["classes"]\njars = ["lib/*.jar"]\n'
        '[tool.sparkpush.java_udfs]\nadd_n = { class = "com.ex.AddN", returns = "bigint" }\n'
        + layers_table.lower()
    )
    return root


def answer_through(target: Target, config: Config) -> tuple[str, str]:
    """What `connect sync` then `connect sql` do: bring the generation up to date, query it.
    Returns the answer and the generation's session id."""
    result = ready_session(config, target)
    assert result.current_generation is not None
    with target.client(
        result.session_id, result.current_generation.server_side_session_id
    ) as client:
        table = run_sql(client, "SELECT add_n(CAST(1 AS BIGINT))")
    return (str(table.column(0)[0].as_py()) if table is not None else ""), result.session_id


def throttled_edits(
    server: BenchServer, link: ThrottledLink, mbit: float, root: Path, built: Path, edits: int
) -> tuple[list[float], list[int]]:
    """Per class edit: seconds to the new answer and bytes sent through the link."""
    config = load_config(cwd=root)
    target = replace(server.target, spec=replace(server.target.spec, port=link.port))
    link.limit(None)  # the first sync fills the server: the dependencies are already there
    answer, session_id = answer_through(target, config)
    if answer != "1":
        raise SystemExit(f"first answer {answer!r}, wanted '1'")
    target_class = root / "classes" / "com" / "ex" / "AddN.class"
    times: list[float] = []
    sent: list[int] = []
    link.limit(mbit)
    try:
        for index in range(edits):
            staged = target_class.with_suffix(".tmp")
            shutil.copyfile(built / str(index) / "com" / "ex" / "AddN.class", staged)
            link.reset_counts()
            started = time.monotonic()
            os.replace(staged, target_class)
            answer, session_id = answer_through(target, config)
            times.append(time.monotonic() - started)
            sent.append(link.sent_bytes)
            if answer != str(1 + 1000 + index):
                raise SystemExit(f"stale answer {answer!r} after edit {index}")
    finally:
        link.limit(None)
        with target.client(session_id) as client:
            client.release_session()
    return times, sent


def throttled_link(
    server: BenchServer, work: Path, edits: int, deps_mb: int, mbit: float
) -> dict[str, Any]:
    """Ours (layers on) and the baseline (layers off, today's full re-upload), same deps."""
    layers_known = layers_setting_known(work)
    jars = make_random_jars(work / "deps", deps_mb)
    built = work / "throttled-javac-out"
    for index in range(edits):  # compile ahead: javac's own time is not the dev loop's
        compile_java(
            add_constant_udf("com.ex", "AddN", 1000 + index), "com.ex.AddN", built / str(index)
        )
    rows: dict[str, Any] = {}
    with ThrottledLink(server.port, None) as link:
        for side, layers in (("ours", True), ("baseline", False)):
            root = throttled_project(
                work / f"throttled-{side}", jars, layers if layers_known else None
            )
            times, sent = throttled_edits(server, link, mbit, root, built, edits)
            rows[side] = {
                **summary(times),
                "sent_mb_p50": round(statistics.median(sent) / MB, 2),
                "sent_mb_max": round(max(sent) / MB, 2),
            }
            how = "layers on" if layers else "layers off, the full re-upload"
            if not layers_known:
                how = "no layers setting in this sparkpush: the full re-upload"
            print(
                f"    {side:<8} ({how}): edit -> answer "
                f"p50 {rows[side]['p50_ms'] / 1000:.2f} s, sent p50 {rows[side]['sent_mb_p50']} MB",
                flush=True,
            )
    ours, baseline = rows["ours"], rows["baseline"]
    rows["time_ratio"] = round(baseline["p50_ms"] / ours["p50_ms"], 2)
    rows["sent_ratio"] = round(baseline["sent_mb_p50"] / max(ours["sent_mb_p50"], 0.001), 1)
    rows["layers_setting_known"] = layers_known
    rows["deps_mb"] = deps_mb
    rows["link_mbit"] = mbit
    rows["goals_met"] = (
        ours["sent_mb_p50"] <= GOAL_THROTTLED_MB and ours["p50_ms"] <= GOAL_THROTTLED_S * 1000
    )
    print(
        f"    ratio baseline / ours: time {rows['time_ratio']}x, bytes sent {rows['sent_ratio']}x "
        f"(goal ours <= {GOAL_THROTTLED_MB:.0f} MB and <= {GOAL_THROTTLED_S:.0f} s: "
        f"{'MET' if rows['goals_met'] else 'NOT MET'})",
        flush=True,
    )
    return rows


def through(server: BenchServer, link: ThrottledLink) -> Target:
    return replace(server.target, spec=replace(server.target.spec, port=link.port))


def class_answer(target: Target, config: Config, loader: WarmLoader) -> str:
    """A sync (old generations released at once, as `connect sync` does; a warm loader, as
    the daemon has), then the query, for a Java UDF project."""
    result = ready_session(config, target, loader=loader)
    assert result.current_generation is not None
    with target.client(
        result.session_id, result.current_generation.server_side_session_id
    ) as client:
        table = run_sql(client, "SELECT add_n(CAST(1 AS BIGINT))")
    return str(table.column(0)[0].as_py()) if table is not None else ""


def udf_answer(target: Target, config: Config, loader: WarmLoader) -> str:
    """The same for a Python UDF project."""
    result = ready_session(config, target, loader=loader)
    assert result.current_generation is not None
    with target.client(
        result.session_id, result.current_generation.server_side_session_id
    ) as client:
        table = run_sql(client, "SELECT answer()")
    return str(table.column(0)[0].as_py()) if table is not None else ""


def noop_sync(target: Target, config: Config) -> None:
    """`connect sync` with nothing changed."""
    result = ready_session(config, target)
    if result.action is not PlanAction.NOTHING:
        raise SystemExit(f"the no-op sync did {result.action}: {result.reasons}")


class LatencyRig:
    """One link (of `rtt_ms`) with a class project and a Python UDF project behind it."""

    def __init__(
        self, server: BenchServer, work: Path, jars: list[Path], rtt_ms: float, loader: WarmLoader
    ) -> None:
        self.rtt_ms = rtt_ms
        self.loader = loader
        self.link = ThrottledLink(server.port, None, rtt_ms=rtt_ms)
        self.target = through(server, self.link)
        self.class_root = throttled_project(work / f"latency-class-{rtt_ms:g}", jars, True)
        self.class_config = load_config(cwd=self.class_root)
        self.udf_root = work / f"latency-udf-{rtt_ms:g}"
        self.udf_root.mkdir()
        (self.udf_root / "helpers.py").write_text("def word():\n    return 'w-start'\n")
        (self.udf_root / "udfs.py").write_text(
            "from pyspark.sql.functions import udf\nimport helpers\n\n"
            "@udf('string')\ndef answer():\n    return helpers.word()\n"
        )
        (self.udf_root / "pyproject.toml").write_text(
            '[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n'
        )
        self.udf_config = load_config(cwd=self.udf_root)

    def first_syncs(self) -> None:
        """Not timed: generations built, UDFs registered, the workers started."""
        if class_answer(self.target, self.class_config, self.loader) != "1":
            raise SystemExit("the class project's first answer is wrong")
        if udf_answer(self.target, self.udf_config, self.loader) != "w-start":
            raise SystemExit("the UDF project's first answer is wrong")

    def class_edit(self, built: Path, index: int) -> None:
        target_class = self.class_root / "classes" / "com" / "ex" / "AddN.class"
        staged = target_class.with_suffix(".tmp")
        shutil.copyfile(built / str(index) / "com" / "ex" / "AddN.class", staged)
        os.replace(staged, target_class)
        answer = class_answer(self.target, self.class_config, self.loader)
        if answer != str(1 + 1000 + index):
            raise SystemExit(f"stale answer {answer!r} after class edit {index}")

    def noop_sync(self, _: int) -> None:
        noop_sync(self.target, self.class_config)

    def udf_edit(self, index: int) -> None:
        (self.udf_root / "helpers.py").write_text(f"def word():\n    return 'w{index}'\n")
        answer = udf_answer(self.target, self.udf_config, self.loader)
        if answer != f"w{index}":
            raise SystemExit(f"stale answer {answer!r} after UDF edit {index}")


Steps = dict[str, dict[float, list[tuple[float, dict[str, int]]]]]


def latency_steps(rigs: list[LatencyRig], log: RpcLog, built: Path, edits: int) -> Steps:
    """Each case's steps, alternating between the links so that load drift hits all alike:
    per case and RTT, each step's seconds and the channels, connections and calls it made."""
    steps: Steps = {}
    cases: dict[str, Callable[[LatencyRig, int], None]] = {
        "class_edit": lambda rig, index: rig.class_edit(built, index),
        "noop_sync": LatencyRig.noop_sync,
        "udf_edit": LatencyRig.udf_edit,
    }
    for case, step in cases.items():
        for index in range(edits):
            for rig in rigs:
                mark = log.mark()
                rig.link.reset_counts()
                started = time.monotonic()
                step(rig, index)
                seconds = time.monotonic() - started
                calls = {**log.counts(since=mark), "connections": rig.link.connections}
                steps.setdefault(case, {}).setdefault(rig.rtt_ms, []).append((seconds, calls))
    return steps


def latency(server: BenchServer, work: Path, edits: int, rtt_ms: float) -> dict[str, Any]:
    """Each case at 0 ms and at `rtt_ms` through the same proxy: seconds, the round trips
    the difference implies, and the calls made (those of the last step at `rtt_ms`)."""
    jars = make_random_jars(work / "latency-deps", LATENCY_DEPS_MB, per_jar_mb=1)
    built = work / "latency-javac-out"
    for index in range(edits):
        compile_java(
            add_constant_udf("com.ex", "AddN", 1000 + index), "com.ex.AddN", built / str(index)
        )
    log = RpcLog(work / "rpcs.jsonl")
    with log.installed(), WarmLoader() as loader, contextlib.ExitStack() as links:
        rigs = [LatencyRig(server, work, jars, rtt, loader) for rtt in (0.0, rtt_ms)]
        for rig in rigs:
            links.enter_context(rig.link)
            rig.first_syncs()
        steps = latency_steps(rigs, log, built, edits)
    rows: dict[str, Any] = {"rtt_ms": rtt_ms}
    for case, by_rtt in steps.items():
        zero = statistics.median(seconds for seconds, _ in by_rtt[0.0])
        slow = statistics.median(seconds for seconds, _ in by_rtt[rtt_ms])
        last = by_rtt[rtt_ms][-1][1]
        rows[case] = {
            "p50_ms_rtt0": round(zero * 1000, 1),
            f"p50_ms_rtt{rtt_ms:g}": round(slow * 1000, 1),
            "round_trips": round((slow - zero) / (rtt_ms / 1000), 1),
            "calls": last,
            "calls_vary": any(c != last for rtt in by_rtt.values() for _, c in rtt),
        }
        rpcs = sum(n for name, n in last.items() if name[0].isupper())
        channels = sum(n for name, n in last.items() if name.startswith("channel"))
        print(
            f"    {case:<10} rtt 0: {zero:.3f} s, rtt {rtt_ms:g} ms: {slow:.3f} s -> "
            f"{rows[case]['round_trips']} round trips; {rpcs} calls on {channels} channels, "
            f"{last['connections']} TCP connections",
            flush=True,
        )
        print(f"        {last}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument(
        "--only",
        choices=("udf", "class", "tree", "throttled", "latency"),
        help="Measure one part.",
    )
    parser.add_argument(
        "--throttled-edits", type=int, default=3, help="Class edits per side through the link."
    )
    parser.add_argument("--link-mbit", type=float, default=LINK_MBIT, help="The link's Mbit/s.")
    parser.add_argument(
        "--link-rtt-ms", type=float, default=LINK_RTT_MS, help="The latency link's RTT (ms)."
    )
    parser.add_argument(
        "--latency-edits", type=int, default=5, help="Steps per case and RTT through the link."
    )
    parser.add_argument(
        "--big-deps", action="store_true", help=f"{BIG_DEPS_MB} MB of jars, not {DEPS_MB} MB."
    )
    parser.add_argument(
        "--baseline-code",
        type=Path,
        help="(a): also time a daemon running this checkout's code (e.g. `git archive main`), "
        "edits alternating with ours.",
    )
    parser.add_argument(
        "--phases",
        action="store_true",
        help="(a): where the milliseconds of a UDF edit go (SPARKPUSH_PHASE_LOG marks).",
    )
    parser.add_argument(
        "--flushes", type=int, default=20, help="No-op flushes (and as many walks) to time."
    )
    args = parser.parse_args()
    wanted = {args.only} if args.only else {"udf", "class", "tree", "throttled", "latency"}
    figures: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}",
    }
    with tempfile.TemporaryDirectory(prefix="sparkpush-devloop-") as temp, bench_server() as server:
        work = Path(temp)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SPARK")},
            "XDG_STATE_HOME": str(Path(server.state.token_file).parent.parent),
        }
        if "udf" in wanted:
            print(f"(a) UDF edit, {args.edits} edits ...", flush=True)
            phase_log = work / "phases.jsonl" if args.phases else None
            sides = udf_edit(server, env, work, args.edits, phase_log, args.baseline_code)
            figures["udf_edit"] = summary(sides["ours"])
            figures["load_average_udf"] = os.getloadavg()[0]
            print(f"    {figures['udf_edit']} (goal p50 <= 150 ms, p95 <= 250 ms)", flush=True)
            if "baseline" in sides:
                figures["udf_edit_baseline"] = summary(sides["baseline"])
                ratio = statistics.median(sides["baseline"]) / statistics.median(sides["ours"])
                figures["udf_edit_ratio"] = round(ratio, 2)
                print(
                    f"    baseline ({args.baseline_code}) {figures['udf_edit_baseline']}, "
                    f"ratio baseline p50 / ours p50: {figures['udf_edit_ratio']}x",
                    flush=True,
                )
            for name in ("reply_ours", "reply_baseline", *QUERY_FLOORS, "query_first_baseline"):
                if name in sides:
                    figures[f"udf_edit_{name}"] = summary(sides[name])
                    print(f"    {name.replace('_', ' ')}: {figures[f'udf_edit_{name}']}")
            if phase_log is not None:
                rows = phase_table(phase_log, start="bench.edit")
                figures["udf_edit_phases_p50_ms"] = {name: at for name, at, _ in rows}
                print("    phase (first mark after the write): p50 ms since the write, p95")
                for name, at, at95 in rows:
                    print(f"      {name:28} {at:8.1f} {at95:8.1f}", flush=True)
        if "class" in wanted:
            print(f"(b) class change with {JAR_MB} MB of jars, {args.edits} edits ...", flush=True)
            classes = class_change(server, env, work, args.edits)
            figures["class_change_50mb_jars"] = summary(classes)
            print(f"    {figures['class_change_50mb_jars']} (goal p50 <= 1500 ms)", flush=True)
        if "tree" in wanted:
            print(f"(c, d) no-op flush and RSS with {TREE_FILES:,} watched files ...", flush=True)
            flushes, walks, rss_kb, syncs = big_tree(server.target, env, work, args.flushes)
            flush, walk = summary(flushes), summary(walks)
            ratio = round(statistics.median(walks) / statistics.median(flushes), 1)
            figures["noop_flush_10000_files"] = {
                "p50_ms": flush["p50_ms"],
                "p95_ms": flush["p95_ms"],
                "n": flush["n"],
                "daemon_syncs_meanwhile": syncs,
            }
            figures["noop_walk_10000_files"] = walk
            figures["noop_flush_walk_ratio"] = ratio
            figures["daemon_rss_10000_files_mb"] = round(rss_kb / 1024, 1)
            print(
                f"    flush (watcher barrier, through the daemon's socket) {flush} "
                f"(goal <= 10 ms); the daemon synced {syncs} time(s) meanwhile",
                flush=True,
            )
            print(
                f"    baseline: walk (no-op ready_session in-process, ProcessCache kept) {walk}",
                flush=True,
            )
            print(f"    ratio walk p50 / flush p50: {ratio}x", flush=True)
            rss = figures["daemon_rss_10000_files_mb"]
            print(f"    daemon RSS {rss} MB (goal <= 150 MB)", flush=True)
        if "throttled" in wanted:
            deps_mb = BIG_DEPS_MB if args.big_deps else DEPS_MB
            print(
                f"(e) class edit through a {args.link_mbit:g} Mbit/s link, {deps_mb} MB of "
                f"unchanged jars, {args.throttled_edits} edits per side ...",
                flush=True,
            )
            figures[f"throttled_class_edit_{deps_mb}mb_jars"] = throttled_link(
                server, work, args.throttled_edits, deps_mb, args.link_mbit
            )
        if "latency" in wanted:
            print(
                f"(f) through a link of {args.link_rtt_ms:g} ms RTT and of 0 ms, "
                f"{args.latency_edits} steps per case ...",
                flush=True,
            )
            figures["latency"] = latency(server, work, args.latency_edits, args.link_rtt_ms)
            figures["load_average"] = os.getloadavg()[0]
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
