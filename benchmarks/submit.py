"""Wall time of `connect submit small.py` vs `python small.py` on the same server.

The baseline runs the script with SPARK_REMOTE pointing at one prepared session (token in
SPARK_CONNECT_AUTHENTICATE_TOKEN); `connect submit` creates, uses and releases a fresh
session per run, as it does in CI. The project is already synced: nothing to upload.
Goal: connect submit <= 1.15x the baseline. Prints human lines, then one JSON line.

In the same run, the same script in a project with 7 Python UDFs configured (each fresh
session registers them). Goal: <= 1.25x the project without UDFs.

Worker output, same run: a script whose UDF prints a line per row, `connect submit` with
worker output on vs `--no-worker-output` (goal <= 1.1x); and the delay from a `print` in a
running script (16 queries one after the other, each a one-second task that prints the
time as it ends) to its line on `connect submit`'s stderr (goal p50 <= 2 s). With
`--baseline-code DIR` (another checkout's top folder, e.g. `git archive main`, first on the
PYTHONPATH of its runs), that code's worker output is timed too, its runs alternating with
ours and the `--no-worker-output` ones on the same server.

    .venv/bin/python benchmarks/submit.py [--runs 5] [--only worker-output] [--baseline-code DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

GOAL_RATIO = 1.15
UDF_GOAL_RATIO = 1.25
WORKER_OUTPUT_GOAL_RATIO = 1.1
DELAY_GOAL_P50_S = 2.0
PRINTED_ROWS = 400

UDF_MODULE = "from pyspark.sql.functions import udf\n" + "".join(
    f'\n@udf("long")\ndef plus_{n}(x):\n    return x + {n}\n' for n in range(7)
)

SMALL_APP = """\
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("count", spark.range(1000).selectExpr("sum(id)").collect()[0][0])
"""


PRINTING_APP = f"""\
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf
spark = SparkSession.builder.getOrCreate()

@udf("long")
def doubled(x):
    print("processing row", x, "of", {PRINTED_ROWS})
    return 2 * x

total = spark.range({PRINTED_ROWS}).repartition(4).select(doubled("id").alias("v"))
print("total", total.agg({{"v": "sum"}}).collect()[0][0])
"""
PRINTING_TOTAL = f"total {PRINTED_ROWS * (PRINTED_ROWS - 1)}"

DELAY_APP = """\
import time
from pyspark.sql import SparkSession
from pyspark.sql.functions import lit, udf
spark = SparkSession.builder.getOrCreate()

@udf("long")
def stamped(x):
    time.sleep(1.0)
    print("PRINTED_AT", repr(time.time()))
    return x

for n in range(16):
    spark.range(1).select(stamped(lit(n))).collect()
print("rows", 16)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def connect(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sparkpush", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    took = time.perf_counter() - started
    if result.returncode != 0 or "count 499500" not in result.stdout:
        raise SystemExit(f"{command[-1]} failed ({result.returncode}): {result.stderr[-2000:]}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=("all", "worker-output"), default="all")
    parser.add_argument(
        "--baseline-code",
        type=Path,
        help="another checkout's top folder: its worker output timed in the same run",
    )
    options = parser.parse_args()
    runs = options.runs
    with tempfile.TemporaryDirectory(prefix="sparkpush-bench-") as temp:
        root = Path(temp)
        project = root / "project"
        project.mkdir()
        (project / "pyproject.toml").write_text('[project]\nname = "bench"\n[tool.sparkpush]\n')
        (project / "small.py").write_text(SMALL_APP)
        with_udfs = root / "with_udfs"
        with_udfs.mkdir()
        (with_udfs / "pyproject.toml").write_text(
            '[project]\nname = "bench-udfs"\n[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n'
        )
        (with_udfs / "udfs.py").write_text(UDF_MODULE)
        (with_udfs / "small.py").write_text(SMALL_APP)
        (project / "printing.py").write_text(PRINTING_APP)
        (project / "delay.py").write_text(DELAY_APP)
        base_env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SPARKPUSH_", "SPARK_REMOTE", "SPARK_CONNECT_"))
        }
        base_env["XDG_STATE_HOME"] = str(root / "state")
        port = free_port()
        started = connect(
            ["server", "start", "--port", str(port), "--master", "local[2]"], base_env, project
        )
        if started.returncode != 0:
            print(started.stderr, file=sys.stderr)
            return 1
        print(started.stdout.strip())
        try:
            if options.only == "worker-output":
                return measure_worker_output(project, base_env, runs, options.baseline_code)
            return measure(project, base_env, root, port, runs)
        finally:
            connect(["server", "stop"], base_env, project)
            print("server stopped")


def measure(project: Path, base_env: dict[str, str], root: Path, port: int, runs: int) -> int:
    token = (root / "state" / "sparkpush" / "server.token").read_text().strip()
    session_env = dict(base_env)
    session_env["SPARK_REMOTE"] = f"sc://localhost:{port}/;session_id={uuid.uuid4()}"
    session_env["SPARK_CONNECT_AUTHENTICATE_TOKEN"] = token
    ours_cmd = [sys.executable, "-m", "sparkpush", "submit", "small.py"]
    base_cmd = [sys.executable, "small.py"]
    with_udfs = root / "with_udfs"
    # warm-up: the first run of each pays for cold JVM paths and page cache
    timed(ours_cmd, base_env, project)
    timed(base_cmd, session_env, project)
    timed(ours_cmd, base_env, with_udfs)
    ours: list[float] = []
    baseline: list[float] = []
    udfs: list[float] = []
    for run in range(runs):
        ours.append(timed(ours_cmd, base_env, project))
        baseline.append(timed(base_cmd, session_env, project))
        udfs.append(timed(ours_cmd, base_env, with_udfs))
        print(
            f"run {run + 1}: connect submit {ours[-1]:.3f} s, python {baseline[-1]:.3f} s, "
            f"connect submit with 7 UDFs {udfs[-1]:.3f} s"
        )
    ours_s = statistics.median(ours)
    base_s = statistics.median(baseline)
    udfs_s = statistics.median(udfs)
    ratio = ours_s / base_s
    udf_ratio = udfs_s / ours_s
    print(f"median: connect submit {ours_s:.3f} s, python small.py {base_s:.3f} s")
    print(f"ratio {ratio:.3f} (goal <= {GOAL_RATIO})")
    print(f"median with 7 UDFs: {udfs_s:.3f} s")
    print(f"UDF ratio {udf_ratio:.3f} (goal <= {UDF_GOAL_RATIO})")
    import pyspark

    print(
        json.dumps(
            {
                "benchmark": "submit",
                "runs": runs,
                "connect_submit_median_s": round(ours_s, 3),
                "python_script_median_s": round(base_s, 3),
                "ratio": round(ratio, 3),
                "goal_ratio": GOAL_RATIO,
                "goal_met": ratio <= GOAL_RATIO,
                "connect_submit_s": [round(t, 3) for t in ours],
                "python_script_s": [round(t, 3) for t in baseline],
                "udf_submit_median_s": round(udfs_s, 3),
                "udf_submit_s": [round(t, 3) for t in udfs],
                "udf_ratio": round(udf_ratio, 3),
                "udf_goal_ratio": UDF_GOAL_RATIO,
                "udf_goal_met": udf_ratio <= UDF_GOAL_RATIO,
                "pyspark": pyspark.__version__,
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "machine": platform.machine(),
            },
            sort_keys=True,
        )
    )
    return 0


def measure_worker_output(
    project: Path, env: dict[str, str], runs: int, baseline_code: Path | None = None
) -> int:
    """Worker output on vs off for a printing script; the delay from a print to its line.
    With `baseline_code`, the same for that code's worker output (runs alternating)."""
    on_cmd = [sys.executable, "-m", "sparkpush", "submit", "printing.py"]
    off_cmd = [*on_cmd[:-1], "--no-worker-output", "printing.py"]
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    sides = {"on": env}
    if baseline_code is not None:
        sides["baseline on"] = {**env, "PYTHONPATH": str(baseline_code.resolve())}
    for side_env in sides.values():
        timed_printing(on_cmd, side_env, project, PRINTED_ROWS)
    timed_printing(off_cmd, env, project, 0)
    times: dict[str, list[float]] = {side: [] for side in [*sides, "off"]}
    for run in range(runs):
        for side, side_env in sides.items():
            times[side].append(timed_printing(on_cmd, side_env, project, PRINTED_ROWS))
        times["off"].append(timed_printing(off_cmd, env, project, 0))
        print(
            f"run {run + 1}: "
            + ", ".join(f"worker output {side} {t[-1]:.3f} s" for side, t in times.items())
        )
    medians = {side: statistics.median(t) for side, t in times.items()}
    ratios = {side: medians[side] / medians["off"] for side in sides}
    for side in sides:
        print(
            f"median: {side} {medians[side]:.3f} s, off {medians['off']:.3f} s, "
            f"ratio {ratios[side]:.3f} (goal <= {WORKER_OUTPUT_GOAL_RATIO})"
        )
    delays: dict[str, list[float]] = {side: [] for side in sides}
    for _ in range(max(1, runs // 2)):
        for side, side_env in sides.items():
            delays[side] += print_delays(project, side_env)
    figures: dict[str, object] = {}
    for side, side_delays in delays.items():
        side_delays.sort()
        p50 = statistics.median(side_delays)
        p95 = side_delays[min(len(side_delays) - 1, int(0.95 * len(side_delays)))]
        print(
            f"print -> terminal ({side}): p50 {p50:.2f} s, p95 {p95:.2f} s "
            f"over {len(side_delays)} lines"
        )
        prefix = "" if side == "on" else "baseline_"
        figures[f"{prefix}delay_p50_s"] = round(p50, 2)
        figures[f"{prefix}delay_p95_s"] = round(p95, 2)
        if side != "on":
            figures["baseline_on_median_s"] = round(medians[side], 3)
            figures["baseline_on_s"] = [round(t, 3) for t in times[side]]
            figures["baseline_ratio"] = round(ratios[side], 3)
            figures["baseline_code"] = str(baseline_code)
    import pyspark

    print(
        json.dumps(
            {
                "benchmark": "submit-worker-output",
                "runs": runs,
                "printed_lines": PRINTED_ROWS,
                "on_median_s": round(medians["on"], 3),
                "off_median_s": round(medians["off"], 3),
                "on_s": [round(t, 3) for t in times["on"]],
                "off_s": [round(t, 3) for t in times["off"]],
                "ratio": round(ratios["on"], 3),
                "goal_ratio": WORKER_OUTPUT_GOAL_RATIO,
                "goal_met": ratios["on"] <= WORKER_OUTPUT_GOAL_RATIO,
                **figures,
                "delay_goal_p50_s": DELAY_GOAL_P50_S,
                "delay_goal_met": figures["delay_p50_s"] <= DELAY_GOAL_P50_S,  # type: ignore[operator]
                "load_at_start": load_at_start,
                "load": [round(x, 2) for x in os.getloadavg()],
                "pyspark": pyspark.__version__,
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "machine": platform.machine(),
            },
            sort_keys=True,
        )
    )
    return 0


def timed_printing(command: list[str], env: dict[str, str], cwd: Path, lines: int) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    took = time.perf_counter() - started
    shown = sum(1 for line in result.stderr.splitlines() if line.startswith("[worker doubled]"))
    if result.returncode != 0 or PRINTING_TOTAL not in result.stdout or shown != lines:
        raise SystemExit(
            f"printing.py: {result.returncode}, {shown} lines: {result.stderr[-2000:]}"
        )
    return took


def print_delays(project: Path, env: dict[str, str]) -> list[float]:
    """Seconds from each `print` in DELAY_APP's tasks to its line on our stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sparkpush", "submit", "delay.py"],
        env=env,
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    delays = []
    for line in process.stderr:
        arrived = time.time()
        if "PRINTED_AT" in line:
            delays.append(arrived - float(line.rsplit(" ", 1)[1]))
    if process.wait(timeout=300) != 0 or len(delays) != 16:
        raise SystemExit(f"delay.py: exit {process.returncode}, {len(delays)} lines")
    return delays


if __name__ == "__main__":
    sys.exit(main())
