"""The project's Python environment vs doing it by hand as PySpark's docs say, same run.

Ours: `[tool.sparkpush.environment] requirements = [...]`: the workers' target probed once,
pip into the user cache, a deterministic archive, `archives/...#sparkpush_env` + the
`spark.sql.execution.pyspark.python` conf. By hand (PySpark's "Python Package Management"
page): `python -m venv`, `pip install pyarrow pandas <requirements>` into it, `venv-pack`,
`spark.addArtifacts("env.tar.gz#environment", archive=True)` and the same conf.

Measured: cold build, warm no-op (ours: an unchanged environment found again, pip replaced by
a program that fails; by hand: venv-pack again, the step that makes the archive match the
venv), archive size, upload, and the first UDF call in a new session with the environment
(the UDF imports msgpack) vs without. Goals: warm no-op <= 50 ms; first UDF call with the
environment <= 0.5 s more than without. Prints human lines, then one JSON line.

    .venv/bin/python benchmarks/environment.py [--noop-runs 20] [--trials 3]
    .venv/bin/python benchmarks/environment.py --noop-only [--noop-runs 50]

`--noop-only` measures the unchanged environment's no-op with the cache's checks (the
entry's folders, the archive's owner, its hash remembered per file identity) against the
same no-op reading the entry unchecked (as before the checks), alternating, same run; and
what one check costs when the archive must be hashed again (a changed file identity).

Needs `venv-pack` (pip install venv-pack) and the package index.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import BenchServer, bench_server, pyspark_token_env

REQUIREMENTS = ("msgpack==1.0.8", "PyYAML==6.0.2")
NOOP_GOAL_S = 0.050
FIRST_UDF_GOAL_S = 0.5
PYTHON_CONF = "spark.sql.execution.pyspark.python"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noop-runs", type=int, default=20)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--noop-only", action="store_true")
    options = parser.parse_args()
    if options.noop_only:
        return noop_only(options.noop_runs)
    venv_pack = shutil.which("venv-pack") or str(Path(sys.executable).parent / "venv-pack")
    if not Path(venv_pack).exists():
        raise SystemExit("the baseline needs venv-pack: pip install venv-pack")
    with tempfile.TemporaryDirectory(prefix="sparkpush-bench-env-") as temp:
        root = Path(temp)
        os.environ["XDG_CACHE_HOME"] = str(root / "cache")
        os.environ["XDG_STATE_HOME"] = str(root / "state")
        os.environ["XDG_CONFIG_HOME"] = str(root / "config")
        with bench_server() as server, pyspark_token_env(server):
            ours = measure_ours(server, root / "project", options.noop_runs)
            by_hand = measure_by_hand(server, root / "by-hand", venv_pack)
            first = first_udf_calls(server, ours["archive"], by_hand["archive"], options.trials)
    report(ours, by_hand, first)
    return 0


def measure_ours(server: BenchServer, project: Path, noop_runs: int) -> dict[str, object]:
    from sparkpush.artifacts.upload import upload_artifacts
    from sparkpush.config.settings import load_config
    from sparkpush.environment.session_parts import environment_artifacts, worker_target

    project.mkdir()
    requirements = ", ".join(f'"{r}"' for r in REQUIREMENTS)
    (project / "pyproject.toml").write_text(
        f"[tool.sparkpush.environment]\nrequirements = [{requirements}]\n"
    )
    config = load_config(cwd=project)
    started = time.perf_counter()
    worker_target(server.target)
    probe = time.perf_counter() - started
    started = time.perf_counter()
    desired, _ = environment_artifacts(config, server.target)
    cold = time.perf_counter() - started
    os.environ["SPARKPUSH_PIP"] = "/bin/false"  # a no-op that ran pip would fail
    noops = []
    for _ in range(noop_runs):
        started = time.perf_counter()
        again, _ = environment_artifacts(load_config(cwd=project), server.target)
        noops.append(time.perf_counter() - started)
        assert again == desired
    del os.environ["SPARKPUSH_PIP"]
    session = server.target.session()
    try:
        session.spark_version()
        started = time.perf_counter()
        upload_artifacts(session, [desired[0].artifact])
        upload = time.perf_counter() - started
    finally:
        session.release_session()
        session.close()
    return {
        "probe_s": probe,
        "cold_s": cold,
        "noop_p50_s": statistics.median(noops),
        "noop_p95_s": sorted(noops)[int(0.95 * (len(noops) - 1))],
        "size": desired[0].size,
        "upload_s": upload,
        "archive": str(desired[0].source),
    }


def noop_only(runs: int) -> int:
    from sparkpush.config.settings import load_config
    from sparkpush.environment import build, cache
    from sparkpush.environment.session_parts import environment_artifacts, worker_target

    checked_loader = build.load_cached

    def unchecked(key: str, root: Path | None = None) -> cache.CachedEnvironment | None:
        folder = (root or cache.cache_root()) / key
        meta = json.loads((folder / cache.META_FILE).read_text())
        return cache.CachedEnvironment(
            key,
            folder,
            meta["sha256"],
            meta["size"],
            meta["packages"],
            meta.get("left_out") or {},
            meta["target"],
        )

    with tempfile.TemporaryDirectory(prefix="sparkpush-bench-env-") as temp:
        root = Path(temp)
        for name in ("CACHE", "STATE", "CONFIG"):
            os.environ[f"XDG_{name}_HOME"] = str(root / name.lower())
        project = root / "project"
        project.mkdir()
        requirements = ", ".join(f'"{r}"' for r in REQUIREMENTS)
        (project / "pyproject.toml").write_text(
            f"[tool.sparkpush.environment]\nrequirements = [{requirements}]\n"
        )
        with bench_server() as server, pyspark_token_env(server):
            config = load_config(cwd=project)
            worker_target(server.target)
            desired, _ = environment_artifacts(config, server.target)
            os.environ["SPARKPUSH_PIP"] = "/bin/false"  # a no-op that ran pip would fail
            timings: dict[str, list[float]] = {"checked": [], "unchecked": []}
            for _ in range(runs):
                for side, loader in (("checked", checked_loader), ("unchecked", unchecked)):
                    build.load_cached = loader
                    started = time.perf_counter()
                    again, _ = environment_artifacts(load_config(cwd=project), server.target)
                    timings[side].append(time.perf_counter() - started)
                    assert again[0].sha256 == desired[0].sha256
            build.load_cached = checked_loader
            key = Path(str(desired[0].source)).parent.name
            rehash = []
            for _ in range(runs):
                os.utime(desired[0].source)  # a new file identity: hashed once more
                cache._verified.clear()
                started = time.perf_counter()
                cache.load_cached(key)
                rehash.append(time.perf_counter() - started)
    checked = statistics.median(timings["checked"])
    plain = statistics.median(timings["unchecked"])
    print(
        f"no-op, unchanged environment: checked p50 {checked * 1000:.1f} ms, unchecked p50 "
        f"{plain * 1000:.1f} ms ({checked / plain:.2f}x); goal <= {NOOP_GOAL_S * 1000:.0f} ms: "
        f"{'met' if checked <= NOOP_GOAL_S else 'NOT met'}"
    )
    print(
        f"a check that hashes the archive again ({desired[0].size / 1e6:.2f} MB): "
        f"p50 {statistics.median(rehash) * 1000:.1f} ms"
    )
    print(
        json.dumps(
            {
                "benchmark": "environment-noop",
                "machine": f"{os.cpu_count()} cores ({platform.machine()})",
                "load": os.getloadavg()[0],
                "checked_p50_s": checked,
                "unchecked_p50_s": plain,
                "ratio": checked / plain,
                "rehash_p50_s": statistics.median(rehash),
                "archive_bytes": desired[0].size,
            },
            sort_keys=True,
        )
    )
    return 0


def measure_by_hand(server: BenchServer, folder: Path, venv_pack: str) -> dict[str, object]:
    from pyspark.sql import SparkSession

    folder.mkdir()
    venv, archive = folder / "venv", folder / "env.tar.gz"
    started = time.perf_counter()
    run([sys.executable, "-m", "venv", str(venv)])
    run(
        [str(venv / "bin" / "pip"), "install", "-q", *PIP_QUIET, "pyarrow", "pandas", *REQUIREMENTS]
    )
    run([venv_pack, "-p", str(venv), "-o", str(archive), "-q"])
    cold = time.perf_counter() - started
    started = time.perf_counter()
    run([venv_pack, "-p", str(venv), "-o", str(archive), "-q", "--force"])
    repack = time.perf_counter() - started
    spark = SparkSession.builder.remote(server.url).create()
    try:
        started = time.perf_counter()
        spark.addArtifacts(f"{archive}#environment", archive=True)
        upload = time.perf_counter() - started
    finally:
        spark.stop()
    return {
        "cold_s": cold,
        "noop_s": repack,
        "size": archive.stat().st_size,
        "upload_s": upload,
        "archive": str(archive),
    }


PIP_QUIET = ("--disable-pip-version-check", "--no-input")


def run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {result.stderr[-2000:]}")


def first_udf_calls(
    server: BenchServer, ours: object, by_hand: object, trials: int
) -> dict[str, float]:
    """Median time of the first UDF query in a new session, per way of getting packages."""
    ways = {
        "none": (None, None),
        "ours": (str(ours), "sparkpush_env"),
        "by_hand": (str(by_hand), "environment"),
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(trials):
        for name, (archive, alias) in ways.items():
            times[name].append(first_udf_call(server, archive, alias))
    return {name: statistics.median(found) for name, found in times.items()}


def first_udf_call(server: BenchServer, archive: str | None, alias: str | None) -> float:
    from pyspark.sql import SparkSession
    from pyspark.sql.functions import udf

    spark = SparkSession.builder.remote(server.url).create()
    try:
        if archive is not None:
            spark.addArtifacts(f"{archive}#{alias}", archive=True)
            spark.conf.set(PYTHON_CONF, f"{alias}/bin/python")
            probe = udf(lambda _: __import__("msgpack").version[0], "int")
        else:
            probe = udf(lambda _: 1, "int")
        started = time.perf_counter()
        value = spark.range(1).select(probe("id")).first()[0]  # type: ignore[index]
        took = time.perf_counter() - started
        assert value == 1, value
        return took
    finally:
        spark.stop()


def report(ours: dict[str, object], by_hand: dict[str, object], first: dict[str, float]) -> None:
    def f(value: object) -> float:
        assert isinstance(value, (int, float))
        return float(value)

    extra_ours = first["ours"] - first["none"]
    extra_hand = first["by_hand"] - first["none"]
    print(f"requirements: {', '.join(REQUIREMENTS)}")
    print(
        f"cold build:   ours {f(ours['cold_s']):.2f} s (+ target probe once per server start "
        f"{f(ours['probe_s']):.2f} s), by hand {f(by_hand['cold_s']):.2f} s "
        f"({f(by_hand['cold_s']) / f(ours['cold_s']):.1f}x)"
    )
    print(
        f"warm no-op:   ours p50 {f(ours['noop_p50_s']) * 1000:.1f} ms, "
        f"p95 {f(ours['noop_p95_s']) * 1000:.1f} ms (no pip), by hand (venv-pack again) "
        f"{f(by_hand['noop_s']) * 1000:.0f} ms; goal <= {NOOP_GOAL_S * 1000:.0f} ms: "
        f"{'met' if f(ours['noop_p50_s']) <= NOOP_GOAL_S else 'NOT met'}"
    )
    print(
        f"archive:      ours {f(ours['size']) / 1e6:.2f} MB, "
        f"by hand {f(by_hand['size']) / 1e6:.2f} MB"
    )
    print(
        f"upload:       ours {f(ours['upload_s']):.2f} s, by hand (addArtifacts) "
        f"{f(by_hand['upload_s']):.2f} s"
    )
    print(
        f"first UDF:    none {first['none']:.2f} s, ours {first['ours']:.2f} s "
        f"(+{extra_ours:.2f} s), by hand {first['by_hand']:.2f} s (+{extra_hand:.2f} s); "
        f"goal <= +{FIRST_UDF_GOAL_S} s: {'met' if extra_ours <= FIRST_UDF_GOAL_S else 'NOT met'}"
    )
    summary = {
        "benchmark": "environment",
        "machine": f"{os.cpu_count()} cores ({platform.machine()})",
        "python": platform.python_version(),
        "requirements": list(REQUIREMENTS),
        "ours": {k: v for k, v in ours.items() if k != "archive"},
        "by_hand": {k: v for k, v in by_hand.items() if k != "archive"},
        "first_udf_s": first,
        "first_udf_extra_s": {"ours": extra_ours, "by_hand": extra_hand},
    }
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main())
