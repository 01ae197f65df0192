"""JVM packages by coordinates vs Spark's own `--packages` resolution, same run, same repository.

Cold resolution of a small tree (8 modules with a parent POM, transitive and test-scoped
dependencies, from a `file://` repository this script writes): ours is `connect packages
resolve` in a fresh user cache (a new process, Ivy from the pyspark wheel through its
command-line main, jars hashed into the cache, the lock written); Spark's is `spark-submit
--packages ... --repositories ...` with a fresh `spark.jars.ivy` (the launcher, then
SparkSubmit resolving with the same Ivy before it runs a trivial main class). Both use the
same repository first and an empty one as the default (`DEFAULT_ARTIFACT_REPOSITORY`, read by
both), so neither waits on the network. The first trial of ours also scans the pyspark wheel's
jars for what the server has (once per installation); it is reported apart.

Then a no-op `connect sync` of a project whose packages are locked and cached, against the
same project without packages (the daemon's path: `ready_session` called again in one
process; and one-shot processes), alternating, on a dedicated embedded server.

Goals: cold within 1.2x of Spark's own resolution; an unchanged lock adds <= 20 ms to a
no-op sync. Prints human lines, then one JSON line.

    .venv/bin/python benchmarks/packages.py [--trials 3] [--noop-runs 20]
"""

from __future__ import annotations

import argparse
import hashlib
import io
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import BenchServer, bench_server

COLD_GOAL = 1.2
NOOP_GOAL_S = 0.020
GROUP = "bench.example"
TREE = {
    "app": ["lib-a", "lib-b", "lib-f"],
    "lib-a": ["lib-c", "lib-d"],
    "lib-b": ["lib-d", "lib-e"],
    "lib-c": [],
    "lib-d": [],
    "lib-e": [],
    "lib-f": ["lib-g"],
    "lib-g": [],
}
"""8 modules; `app` also has a test-scoped dependency that is not in the repository."""
JAR_BYTES = 150_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--noop-runs", type=int, default=20)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sparkpush-bench-packages-") as temp:
        root = Path(temp)
        (root / "home").mkdir()
        (root / "empty").mkdir()
        os.environ.update(
            HOME=str(root / "home"),
            XDG_STATE_HOME=str(root / "state"),
            XDG_CONFIG_HOME=str(root / "config"),
            XDG_CACHE_HOME=str(root / "cache"),
            DEFAULT_ARTIFACT_REPOSITORY=(root / "empty").as_uri(),
        )
        repository = write_repository(root / "m2")
        cold = measure_cold(root, repository, options.trials)
        with bench_server() as server:
            noop = measure_noop(root, repository, server, options.noop_runs)
    report(cold, noop)
    return 0


def write_repository(folder: Path) -> Path:
    """The tree above: POMs (a parent with dependencyManagement), jars, `.sha1` files."""

    def put(artifact: str, name: str, data: bytes) -> None:
        target = folder / GROUP.replace(".", "/") / artifact / "1.0"
        target.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes(data)
        (target / f"{name}.sha1").write_text(hashlib.sha1(data).hexdigest())

    managed = "".join(
        f"<dependency><groupId>{GROUP}</groupId><artifactId>{a}</artifactId>"
        "<version>1.0</version></dependency>"
        for a in TREE
    )
    put(
        "parent",
        "parent-1.0.pom",
        pom(
            "parent",
            "pom",
            f"<dependencyManagement><dependencies>{managed}</dependencies></dependencyManagement>",
        ).encode(),
    )
    for artifact, needs in TREE.items():
        deps = "".join(
            f"<dependency><groupId>{GROUP}</groupId><artifactId>{n}</artifactId></dependency>"
            for n in needs
        )
        if artifact == "app":
            deps += (
                f"<dependency><groupId>{GROUP}</groupId><artifactId>testlib</artifactId>"
                "<version>1.0</version><scope>test</scope></dependency>"
            )
        parent = (
            f"<parent><groupId>{GROUP}</groupId><artifactId>parent</artifactId>"
            "<version>1.0</version></parent>"
        )
        put(
            artifact,
            f"{artifact}-1.0.pom",
            pom(artifact, "jar", f"<dependencies>{deps}</dependencies>", parent).encode(),
        )
        put(artifact, f"{artifact}-1.0.jar", jar(artifact))
    return folder


def pom(artifact: str, packaging: str, body: str, head: str = "") -> str:
    return (
        '<?xml version="1.0"?><project xmlns="http://maven.apache.org/POM/4.0.0">'
        f"<modelVersion>4.0.0</modelVersion>{head}<groupId>{GROUP}</groupId>"
        f"<artifactId>{artifact}</artifactId><version>1.0</version>"
        f"<packaging>{packaging}</packaging>{body}</project>"
    )


def jar(artifact: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{artifact}/data.bin", os.urandom(JAR_BYTES))
    return buffer.getvalue()


def project(folder: Path, repository: Path, packages: bool) -> Path:
    folder.mkdir(parents=True)
    (folder / "job.py").write_text("print('job')\n")
    config = '[tool.sparkpush.artifacts]\npyfiles = ["job.py"]\n'
    if packages:
        shutil.copytree(repository, folder / "m2")
        config += (
            f'[tool.sparkpush.packages]\ncoordinates = ["{GROUP}:app:1.0"]\nrepositories = ["m2"]\n'
        )
    (folder / "pyproject.toml").write_text(config)
    return folder


def connect(args: list[str], cwd: Path, **env: str) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "sparkpush", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=900,
    )
    took = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"connect {' '.join(args)} failed: {result.stderr.strip()[-500:]}")
    return took


def spark_submit(root: Path, repository: Path, ivy_home: Path) -> float:
    home = Path(__import__("pyspark").__path__[0])
    command = [
        str(home / "bin" / "spark-submit"),
        "--packages",
        f"{GROUP}:app:1.0",
        "--repositories",
        repository.as_uri(),
        "--conf",
        f"spark.jars.ivy={ivy_home}",
        "--class",
        "org.apache.ivy.Main",
        str(next((home / "jars").glob("ivy-*.jar"))),
        "-version",
    ]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=900)
    took = time.perf_counter() - started
    if result.returncode != 0 or f"{GROUP}#lib-g" not in result.stdout + result.stderr:
        raise SystemExit(f"spark-submit --packages failed: {result.stderr.strip()[-800:]}")
    return took


def measure_cold(root: Path, repository: Path, trials: int) -> dict[str, object]:
    folder = project(root / "cold-project", repository, packages=True)
    connect(["trust"], folder)
    first_cache = root / "cold-cache-first"
    first = connect(["packages", "resolve"], folder, XDG_CACHE_HOME=str(first_cache))
    provided = first_cache / "sparkpush" / "maven" / "provided"
    ours: list[float] = []
    spark: list[float] = []
    for trial in range(trials):
        cache = root / f"cold-cache-{trial}"
        shutil.copytree(provided, cache / "sparkpush" / "maven" / "provided")
        (cache / "sparkpush").chmod(0o700)
        (cache / "sparkpush" / "maven").chmod(0o700)
        (folder / ".sparkpush" / "packages.lock.json").unlink()
        ours.append(connect(["packages", "resolve"], folder, XDG_CACHE_HOME=str(cache)))
        spark.append(spark_submit(root, repository, root / f"spark-ivy-{trial}"))
    lock = json.loads((folder / ".sparkpush" / "packages.lock.json").read_text())
    jars = lock["resolutions"][-1]["jars"]
    return {
        "first_s": first,
        "ours_s": ours,
        "spark_s": spark,
        "ours_p50_s": statistics.median(ours),
        "spark_p50_s": statistics.median(spark),
        "jars": len(jars),
        "bytes": sum(j["size"] for j in jars),
    }


def measure_noop(root: Path, repository: Path, server: BenchServer, runs: int) -> dict[str, object]:
    from sparkpush.config.settings import load_config
    from sparkpush.sync.ready_session import ready_session

    plain = project(root / "plain", repository, packages=False)
    with_packages = project(root / "with-packages", repository, packages=True)
    connect(["trust"], with_packages)
    configs = {"plain": load_config(cwd=plain), "packages": load_config(cwd=with_packages)}
    for config in configs.values():
        ready_session(config, server.target)  # the generation, and the packages resolved
    times: dict[str, list[float]] = {"plain": [], "packages": []}
    for _ in range(runs):
        for name, config in configs.items():
            started = time.perf_counter()
            result = ready_session(config, server.target)
            times[name].append(time.perf_counter() - started)
            assert result.action.value == "nothing", result
    env = {"SPARKPUSH_QUIET": "1"}
    one_shot: dict[str, list[float]] = {"plain": [], "packages": []}
    token_env = {"XDG_STATE_HOME": str(Path(server.state.log_file).parent.parent)}
    for _ in range(max(3, runs // 4)):
        for name, folder in (("plain", plain), ("packages", with_packages)):
            one_shot[name].append(connect(["sync"], folder, **env, **token_env))
    return {
        "in_process_p50_s": {k: statistics.median(v) for k, v in times.items()},
        "in_process_p95_s": {k: sorted(v)[int(0.95 * (len(v) - 1))] for k, v in times.items()},
        "one_shot_p50_s": {k: statistics.median(v) for k, v in one_shot.items()},
    }


def load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def report(cold: dict[str, object], noop: dict[str, object]) -> None:
    def f(value: object) -> float:
        assert isinstance(value, (int, float))
        return float(value)

    ratio = f(cold["ours_p50_s"]) / f(cold["spark_p50_s"])
    in_process = noop["in_process_p50_s"]
    one_shot = noop["one_shot_p50_s"]
    assert isinstance(in_process, dict) and isinstance(one_shot, dict)
    extra = in_process["packages"] - in_process["plain"]
    extra_one_shot = one_shot["packages"] - one_shot["plain"]
    print(f"tree: {cold['jars']} jars, {f(cold['bytes']):,.0f} bytes; load average {load()}")
    print(
        f"cold resolution: ours p50 {f(cold['ours_p50_s']):.2f} s (connect packages resolve), "
        f"Spark's p50 {f(cold['spark_p50_s']):.2f} s (spark-submit --packages): {ratio:.2f}x; "
        f"goal <= {COLD_GOAL}x: {'met' if ratio <= COLD_GOAL else 'NOT met'}"
    )
    print(
        f"first resolution after installing pyspark (scans its jars once): "
        f"{f(cold['first_s']):.2f} s"
    )
    print(
        f"no-op sync, same process: plain p50 {in_process['plain'] * 1000:.1f} ms, "
        f"with locked packages {in_process['packages'] * 1000:.1f} ms: +{extra * 1000:.1f} ms; "
        f"goal <= +{NOOP_GOAL_S * 1000:.0f} ms: {'met' if extra <= NOOP_GOAL_S else 'NOT met'}"
    )
    print(
        f"no-op sync, one-shot process: plain p50 {one_shot['plain']:.2f} s, "
        f"with locked packages {one_shot['packages']:.2f} s (+{extra_one_shot * 1000:.0f} ms)"
    )
    summary = {
        "benchmark": "packages",
        "machine": f"{os.cpu_count()} cores ({platform.machine()})",
        "python": platform.python_version(),
        "load": load(),
        "cold": cold,
        "cold_ratio": ratio,
        "noop": noop,
        "noop_extra_s": extra,
        "noop_extra_one_shot_s": extra_one_shot,
    }
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main())
