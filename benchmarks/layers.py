"""What a code-only change costs with layered generations, and what the server's clone costs.

    .venv/bin/python benchmarks/layers.py [--edits 5] [--clone-sizes 200,1024]

On loopback, against a real embedded server:
  (a) a project with a 200 MB jar (base layer) and one Java UDF in a class dir (code layer):
      recompile the class, `ready_session` in-process (sync + register the Java UDF in a
      loader process), then the first SQL answer from the new generation; then the same edits
      with `sync_project` alone (no UDF registration, no query). Bytes sent and seconds,
      layered against `[tool.sparkpush.layers] enabled = false` (today's full re-upload),
      edits alternating between the two projects in the same run;
  (b) CloneSession of a session holding 200 MB and 1 GB of jars (the server copies the
      session's artifact folder on its own disk): seconds per clone, and the first query
      in the clone.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _server import bench_server

from sparkpush.artifacts.local_artifact import LocalArtifact
from sparkpush.artifacts.upload import upload_artifacts
from sparkpush.config.settings import load_config
from sparkpush.connect.sql_query import run_sql
from sparkpush.remote.target import Target
from sparkpush.sync.engine import sync_project
from sparkpush.sync.ready_session import ready_session
from tests.jvm import add_constant_udf, compile_java

JAR_MB = 200
CHUNK_MB = 50


def make_jar(path: Path, megabytes: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        for index in range(max(1, megabytes // CHUNK_MB)):
            jar.writestr(f"data/blob{index}.bin", os.urandom(min(megabytes, CHUNK_MB) << 20))


def make_project(root: Path, jar: Path, layered: bool) -> None:
    compile_java(add_constant_udf("com.ex", "AddN", 0), "com.ex.AddN", root / "classes")
    (root / "lib").mkdir(parents=True)
    os.link(jar, root / "lib" / "deps.jar")  # the same 200 MB for both projects
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.artifacts]\nclasses = ["classes"]\njars = ["lib/*.jar"]\n'
        '[tool.sparkpush.java_udfs]\nadd_n = { class = "com.ex.AddN", returns = "bigint" }\n'
        f"[tool.sparkpush.layers]\nenabled = {'true' if layered else 'false'}\n"
    )


def answer(target: Target, session_id: str, server_side: str | None) -> str:
    with target.client(session_id, server_side) as client:
        table = run_sql(client, "SELECT add_n(CAST(1 AS BIGINT))")
    return str(table.column(0)[0].as_py()) if table is not None else ""


def swap_class(root: Path, built: Path, constant: int) -> None:
    fresh = built / str(constant) / "com" / "ex" / "AddN.class"
    class_file = root / "classes" / "com" / "ex" / "AddN.class"
    staged = class_file.with_suffix(".tmp")
    shutil.copyfile(fresh, staged)
    os.replace(staged, class_file)


def class_edit(target: Target, root: Path, built: Path, constant: int) -> dict[str, Any]:
    """Swap in a class compiled ahead; time the sync and the first answer."""
    swap_class(root, built, constant)
    started = time.monotonic()
    result = ready_session(load_config(cwd=root), target)
    synced = time.monotonic() - started
    generation = result.current_generation
    assert generation is not None
    got = answer(target, generation.session_id, generation.server_side_session_id)
    if got != str(1 + constant):
        raise SystemExit(f"stale answer {got!r}, wanted {1 + constant}")
    return {
        "bytes": result.bytes,
        "sync_s": synced,
        "answer_s": time.monotonic() - started,
        "layer": result.layer.value if result.layer else None,
    }


def code_change(target: Target, work: Path, edits: int) -> dict[str, Any]:
    jar = work / "deps.jar"
    make_jar(jar, JAR_MB)
    roots = {"layered": work / "layered", "single": work / "single"}
    for name, root in roots.items():
        make_project(root, jar, layered=name == "layered")
        ready_session(load_config(cwd=root), target)  # the first generation (and base)
    built = work / "javac-out"
    for index in range(edits):  # compiled ahead: javac's time is not the dev loop's
        compile_java(
            add_constant_udf("com.ex", "AddN", 1000 + index),
            "com.ex.AddN",
            built / str(1000 + index),
        )
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in roots}
    engine: dict[str, list[float]] = {name: [] for name in roots}
    for index in range(edits):
        for name, root in roots.items():
            runs[name].append(class_edit(target, root, built, 1000 + index))
    for index in range(edits):  # the sync alone: no UDF loader process, no query
        for name, root in roots.items():
            swap_class(root, built, 1000 + (index + 1) % edits)
            engine[name].append(sync_project(load_config(cwd=root), target).seconds)
    figures: dict[str, Any] = {}
    for name, measured in runs.items():
        figures[name] = {
            "bytes": statistics.median(m["bytes"] for m in measured),
            "sync_p50_s": round(statistics.median(m["sync_s"] for m in measured), 3),
            "answer_p50_s": round(statistics.median(m["answer_s"] for m in measured), 3),
            "sync_only_p50_s": round(statistics.median(engine[name]), 3),
            "layers": sorted({str(m["layer"]) for m in measured}),
            "n": len(measured),
        }
    return figures


def clone_cost(target: Target, work: Path, megabytes: int, clones: int) -> dict[str, Any]:
    """Clone a session holding `megabytes` of jars `clones` times; each clone released."""
    jars = work / f"clone-{megabytes}"
    per_jar = 200
    artifacts = []
    for index in range(max(1, megabytes // per_jar)):
        path = jars / f"big{index}.jar"
        make_jar(path, min(megabytes, per_jar))
        artifacts.append(LocalArtifact(name=f"jars/big{index}.jar", path=path))
    seconds: list[float] = []
    first_query: list[float] = []
    with target.client() as base:
        base.spark_version()
        upload_artifacts(base, artifacts)
        for _ in range(clones):
            started = time.monotonic()
            clone_id, server_side = base.clone_session(timeout=600)
            seconds.append(time.monotonic() - started)
            with target.client(clone_id, server_side) as clone:
                started = time.monotonic()
                run_sql(clone, "SELECT 1")
                first_query.append(time.monotonic() - started)
                clone.release_session()
        base.release_session()
    shutil.rmtree(jars)
    return {
        "clone_p50_s": round(statistics.median(seconds), 3),
        "clone_max_s": round(max(seconds), 3),
        "first_query_p50_s": round(statistics.median(first_query), 3),
        "n": clones,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--clones", type=int, default=5)
    parser.add_argument("--clone-sizes", default="200,1024", help="MB held by the cloned session")
    parser.add_argument("--only", choices=("code", "clone"))
    args = parser.parse_args()
    figures: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}",
        "load_average": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory(prefix="sparkpush-layers-") as temp, bench_server() as server:
        work = Path(temp)
        os.environ["XDG_STATE_HOME"] = str(Path(server.state.token_file).parent.parent)
        if args.only in (None, "code"):
            print(f"(a) class edit with a {JAR_MB} MB jar, {args.edits} edits each ...", flush=True)
            figures["code_change_200mb_jar"] = code_change(server.target, work, args.edits)
            for name, row in figures["code_change_200mb_jar"].items():
                print(f"    {name}: {row}", flush=True)
        if args.only in (None, "clone"):
            for megabytes in (int(size) for size in args.clone_sizes.split(",")):
                print(f"(b) CloneSession of a session with {megabytes} MB ...", flush=True)
                row = clone_cost(server.target, work, megabytes, args.clones)
                figures[f"clone_{megabytes}mb"] = row
                print(f"    {row}", flush=True)
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
