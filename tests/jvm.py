"""Compiling small Java UDFs with the real javac, against the pyspark wheel's jars."""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from sparkpush.server.process import spark_home


def add_constant_udf(package: str, class_name: str, constant: int) -> str:
    """Java source of a UDF1<Long, Long> that adds `constant`."""
    return f"""
package {package};
import org.apache.spark.sql.api.java.UDF1;
public class {class_name} implements UDF1<Long, Long> {{
    public Long call(Long x) {{ return x == null ? null : x + {constant}L; }}
}}
"""


def compile_java(source: str, fqcn: str, classes_dir: Path) -> Path:
    """Compile one class into `classes_dir` (javac layout); returns the .class file."""
    compile_sources({fqcn: source}, classes_dir)
    return classes_dir / (fqcn.replace(".", "/") + ".class")


def build_jar(classes_dir: Path, jar: Path) -> Path:
    """A jar holding every class file under `classes_dir`."""
    jar.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        for path in sorted(classes_dir.rglob("*.class")):
            archive.write(path, path.relative_to(classes_dir).as_posix())
    return jar


def compile_sources(sources: dict[str, str], classes_dir: Path) -> None:
    """Compile several classes (fully qualified name -> source) in one javac run, so that
    they may use each other.

    javac with Spark's jars on its class path takes seconds (~3 s of CPU), and the suite
    compiles the same few sources dozens of times: sources compiled before in this process
    are copied from that compile (the same bytes javac writes; the copies get a new mtime)."""
    src_dir = classes_dir.parent / (classes_dir.name + "-src")
    files = []
    for fqcn, source in sources.items():
        src_file = src_dir / (fqcn.replace(".", "/") + ".java")
        src_file.parent.mkdir(parents=True, exist_ok=True)
        src_file.write_text(source)
        files.append(src_file)
    key = tuple(sorted(sources.items()))
    compiled = _compiled.get(key)
    if compiled is None:
        compiled = _compiled[key] = _javac(files)
    for made in sorted(compiled.rglob("*.class")):  # as javac writes them: folders, new files
        copy = classes_dir / made.relative_to(compiled)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(made, copy)
    classes_dir.mkdir(parents=True, exist_ok=True)


_compiled: dict[tuple[tuple[str, str], ...], Path] = {}
"""Sources (class name, source) -> a folder holding what javac wrote for them."""


def _javac(src_files: list[Path]) -> Path:
    output = Path(tempfile.mkdtemp(prefix="sparkpush-tests-javac-"))
    atexit.register(shutil.rmtree, output, ignore_errors=True)
    classpath = str(spark_home() / "jars" / "*")
    subprocess.run(
        ["javac", "--release", "17", "-cp", classpath, "-d", str(output), *map(str, src_files)],
        check=True,
        capture_output=True,
        timeout=300,  # seconds on a quiet machine: a javac that hangs fails its test
    )
    return output
