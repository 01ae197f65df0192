"""tests/jvm.py: sources are compiled once per test session; later compiles are copies."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests import jvm


class FakeJavac:
    """`subprocess.run` for javac: writes each source's class file (its digest as bytes)."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, command: list[str], **kwargs: object) -> None:
        self.runs += 1
        output = Path(command[command.index("-d") + 1])
        for source in (Path(arg) for arg in command if arg.endswith(".java")):
            text = source.read_text()
            package = text.split("package ")[1].split(";")[0].replace(".", "/")
            made = output / package / source.with_suffix(".class").name
            made.parent.mkdir(parents=True, exist_ok=True)
            made.write_bytes(b"\xca\xfe\xba\xbe" + hashlib.sha256(text.encode()).digest())


@pytest.fixture
def javac(monkeypatch: pytest.MonkeyPatch) -> FakeJavac:
    fake = FakeJavac()
    monkeypatch.setattr(jvm, "_compiled", {})
    monkeypatch.setattr(jvm.subprocess, "run", fake)
    return fake


def test_the_same_source_runs_javac_once_and_gives_the_same_bytes_as_new_files(
    tmp_path: Path, javac: FakeJavac
) -> None:
    source = jvm.add_constant_udf("com.ex", "AddOne", 1)
    first = jvm.compile_java(source, "com.ex.AddOne", tmp_path / "a")
    os.utime(first, (1_000_000_000, 1_000_000_000))
    again = jvm.compile_java(source, "com.ex.AddOne", tmp_path / "a")
    elsewhere = jvm.compile_java(source, "com.ex.AddOne", tmp_path / "b")
    assert javac.runs == 1
    assert again == first and first.read_bytes() == elsewhere.read_bytes()
    assert first.stat().st_mtime > 1_000_000_000  # written anew, as javac would
    assert (tmp_path / "b-src" / "com" / "ex" / "AddOne.java").read_text() == source


def test_a_changed_source_or_another_set_of_sources_is_compiled_anew(
    tmp_path: Path, javac: FakeJavac
) -> None:
    one = jvm.add_constant_udf("com.ex", "AddOne", 1)
    first = jvm.compile_java(one, "com.ex.AddOne", tmp_path / "a")
    before = first.read_bytes()
    jvm.compile_java(jvm.add_constant_udf("com.ex", "AddOne", 2), "com.ex.AddOne", tmp_path / "a")
    assert javac.runs == 2 and first.read_bytes() != before
    two = jvm.add_constant_udf("com.ex", "AddTwo", 2)
    jvm.compile_sources({"com.ex.AddOne": one, "com.ex.AddTwo": two}, tmp_path / "c")
    assert javac.runs == 3
    assert (tmp_path / "c" / "com" / "ex" / "AddOne.class").read_bytes() == before
    assert (tmp_path / "c" / "com" / "ex" / "AddTwo.class").exists()
