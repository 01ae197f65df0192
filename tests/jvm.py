"""Compiling small Java UDFs with the real javac, against the pyspark wheel's jars."""

from __future__ import annotations

import subprocess
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
    src_dir = classes_dir.parent / (classes_dir.name + "-src")
    src_file = src_dir / (fqcn.replace(".", "/") + ".java")
    src_file.parent.mkdir(parents=True, exist_ok=True)
    src_file.write_text(source)
    classes_dir.mkdir(parents=True, exist_ok=True)
    classpath = str(spark_home() / "jars" / "*")
    subprocess.run(
        ["javac", "--release", "17", "-cp", classpath, "-d", str(classes_dir), str(src_file)],
        check=True,
        capture_output=True,
    )
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
    they may use each other."""
    src_dir = classes_dir.parent / (classes_dir.name + "-src")
    files = []
    for fqcn, source in sources.items():
        src_file = src_dir / (fqcn.replace(".", "/") + ".java")
        src_file.parent.mkdir(parents=True, exist_ok=True)
        src_file.write_text(source)
        files.append(str(src_file))
    classes_dir.mkdir(parents=True, exist_ok=True)
    classpath = str(spark_home() / "jars" / "*")
    subprocess.run(
        ["javac", "--release", "17", "-cp", classpath, "-d", str(classes_dir), *files],
        check=True,
        capture_output=True,
    )
