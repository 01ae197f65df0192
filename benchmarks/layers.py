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
from sparkpush.sync.clone_cost import clone_deadline, copied_bytes
from sparkpush.sync.engine import sync_project
from sparkpush.sync.generation import load_generation
from sparkpush.sync.ready_session import ready_session
from sparkpush.sync.release import release_sessions
from tests.jvm import add_constant_udf, compile_java
from tests.server_resources import held_deleted_bytes, tree_bytes

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


def make_artifacts(folder: Path, kind: str, megabytes: int) -> list[LocalArtifact]:
    """`megabytes` of one kind, in pieces of at most 1 GB (jars and archives are zips)."""
    folder.mkdir(parents=True, exist_ok=True)
    artifacts = []
    per_piece = 1024
    for index in range(max(1, -(-megabytes // per_piece))):
        size = min(per_piece, megabytes - index * per_piece)
        if kind == "files":
            path = folder / f"big{index}.bin"
            with path.open("wb") as out:
                for _ in range(size // CHUNK_MB):
                    out.write(os.urandom(CHUNK_MB << 20))
                out.write(os.urandom((size % CHUNK_MB) << 20))
            name = f"files/big{index}.bin"
        else:
            path = folder / f"big{index}.jar"
            make_jar(path, size)
            name = f"jars/big{index}.jar" if kind == "jars" else f"archives/big{index}.zip#b{index}"
        artifacts.append(LocalArtifact(name=name, path=path))
    return artifacts


def clone_cost(
    target: Target, work: Path, megabytes: int, clones: int, kind: str = "jars"
) -> dict[str, Any]:
    """Clone a session holding `megabytes` of `kind` `clones` times; each clone released."""
    folder = work / f"clone-{kind}-{megabytes}"
    artifacts = make_artifacts(folder, kind, megabytes)
    sizes = {a.name: a.size() for a in artifacts}
    seconds: list[float] = []
    first_query: list[float] = []
    with target.client() as base:
        base.spark_version()
        upload_artifacts(base, artifacts)
        for _ in range(clones):
            started = time.monotonic()
            clone_id, server_side = base.clone_session(timeout=3600)
            seconds.append(time.monotonic() - started)
            with target.client(clone_id, server_side) as clone:
                started = time.monotonic()
                run_sql(clone, "SELECT 1")
                first_query.append(time.monotonic() - started)
                clone.release_session()
        base.release_session()
    shutil.rmtree(folder)
    return {
        "kind": kind,
        "clone_p50_s": round(statistics.median(seconds), 3),
        "clone_max_s": round(max(seconds), 3),
        "copied_mb_per_s_at_max": round(copied_bytes(sizes) / max(seconds) / 2**20, 1),
        "deadline_s": round(clone_deadline(sizes), 1),
        "first_query_p50_s": round(statistics.median(first_query), 3),
        "n": clones,
    }


def big_file_sync(target: Target, work: Path, megabytes: int, layered: bool) -> dict[str, Any]:
    """The issue's case: `files = ["data/big.bin"]` of `megabytes`; the first sync, then a code
    change; seconds of each and the server's disk after each (files plus deleted files held)."""
    root = work / f"bigfile-{'layered' if layered else 'single'}"
    (root / "data").mkdir(parents=True)
    make_artifacts(root / "data", "files", megabytes)
    (root / "job.py").write_text("VERSION = 0\n")
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.artifacts]\npyfiles = ["job.py"]\nfiles = ["data/*.bin"]\n'
        f"[tool.sparkpush.layers]\nenabled = {'true' if layered else 'false'}\n"
    )
    scratch = Path(str(target.embedded.scratch)) if target.embedded else None
    row: dict[str, Any] = {}
    for step in ("first_sync", "code_change"):
        if step == "code_change":
            (root / "job.py").write_text("VERSION = 1\n")
        started = time.monotonic()
        result = sync_project(load_config(cwd=root), target)
        row[f"{step}_s"] = round(time.monotonic() - started, 1)
        row[f"{step}_mb_sent"] = round(result.bytes / 2**20, 1)
        if scratch is not None and target.embedded is not None:
            held = held_deleted_bytes([target.embedded.pid])
            row[f"{step}_server_disk_mb"] = round((tree_bytes(scratch) + held) / 2**20)
    generation = load_generation(root)
    if generation is not None:
        ids = [generation.session_id] + ([generation.base.session_id] if generation.base else [])
        release_sessions(target, ids)
    shutil.rmtree(root)
    return row


def embedded_target_of(server: Any) -> Target:
    """The bench server as the embedded server (its folders reclaimed, its disk known)."""
    return Target(server.target.spec, "embedded", embedded=server.state)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--clones", type=int, default=5)
    parser.add_argument("--clone-sizes", default="200,1024", help="MB held by the cloned session")
    parser.add_argument("--clone-kinds", default="jars", help="jars, files, archives")
    parser.add_argument(
        "--big-file", type=int, default=0, help="(c): MB of `files`, layers on and off"
    )
    parser.add_argument("--only", choices=("code", "clone", "bigfile"))
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
            for kind in args.clone_kinds.split(","):
                for megabytes in (int(size) for size in args.clone_sizes.split(",")):
                    print(f"(b) CloneSession of {megabytes} MB of {kind} ...", flush=True)
                    row = clone_cost(server.target, work, megabytes, args.clones, kind)
                    key = f"clone_{megabytes}mb" + ("" if kind == "jars" else f"_{kind}")
                    figures[key] = row
                    print(f"    {row}", flush=True)
        if args.big_file and args.only in (None, "bigfile"):
            target = embedded_target_of(server)
            for layered in (True, False):
                name = "layered" if layered else "single"
                print(f"(c) {args.big_file} MB file, {name} ...", flush=True)
                row = big_file_sync(target, work, args.big_file, layered)
                figures[f"big_file_{args.big_file}mb_{name}"] = row
                print(f"    {row}", flush=True)
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
