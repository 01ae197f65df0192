"""Fingerprints: stable across processes, changed by an edit to an embedded helper."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

from sparkpush.udf.fingerprint import java_udf_fingerprint, python_udf_fingerprint

_FINGERPRINT_IN_A_NEW_PROCESS = """
import sys
sys.path.insert(0, sys.argv[1])
import helpers, udfs
from pyspark import cloudpickle
from pyspark.cloudpickle import cloudpickle as internals
from sparkpush.udf.fingerprint import python_udf_fingerprint
for module in (helpers, udfs):
    cloudpickle.register_pickle_by_value(module)
pickled = cloudpickle.dumps(udfs.f)
volatile = list(internals._DYNAMIC_CLASS_TRACKER_BY_ID)
print(python_udf_fingerprint(pickled, "string", 100, volatile))
"""


def _fingerprint(folder: Path, *flags: str) -> str:
    result = subprocess.run(
        [sys.executable, *flags, "-c", _FINGERPRINT_IN_A_NEW_PROCESS, str(folder)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin"},
    )
    return result.stdout.strip()


def _module(folder: Path, tag: str) -> None:
    (folder / "helpers.py").write_text(
        textwrap.dedent(
            f"""
            class Box:
                def __init__(self, v):
                    self.v = v

            def tag():
                return Box({tag!r}).v
            """
        )
    )
    (folder / "udfs.py").write_text("import helpers\n\ndef f(x):\n    return helpers.tag() + x\n")


def test_same_code_gives_the_same_fingerprint_in_two_processes(tmp_path: Path) -> None:
    _module(tmp_path, "v1")
    compiled = _fingerprint(tmp_path)  # compiles the modules and writes their .pyc
    assert _fingerprint(tmp_path) == compiled  # loads them from the .pyc


def test_an_edited_helper_changes_the_fingerprint(tmp_path: Path) -> None:
    _module(tmp_path, "v1")
    before = _fingerprint(tmp_path, "-B")
    _module(tmp_path, "v2")
    assert _fingerprint(tmp_path, "-B") != before


def test_volatile_tracker_ids_are_ignored() -> None:
    a = python_udf_fingerprint(pickle.dumps(("code", "1111aaaa")), "int", 100, ["1111aaaa"])
    b = python_udf_fingerprint(pickle.dumps(("code", "2222bbbb")), "int", 100, ["2222bbbb"])
    assert a == b


def test_sharing_a_string_by_identity_does_not_change_the_fingerprint() -> None:
    text = "/project/udfs.py"
    shared = pickle.dumps((text, text))
    copied = pickle.dumps((text, "".join(["/project/", "udfs.py"])))
    assert shared != copied
    assert python_udf_fingerprint(shared, "int", 100) == python_udf_fingerprint(copied, "int", 100)


def test_values_of_different_types_stay_different() -> None:
    fingerprints = {
        python_udf_fingerprint(pickle.dumps(v), "int", 100)
        for v in (None, True, False, 1, "1", b"1")
    }
    assert len(fingerprints) == 6


def test_return_type_and_eval_type_are_part_of_the_fingerprint() -> None:
    code = pickle.dumps("code")
    base = python_udf_fingerprint(code, "int", 100)
    assert python_udf_fingerprint(code, "bigint", 100) != base
    assert python_udf_fingerprint(code, "int", 200) != base


def test_java_fingerprint_follows_class_and_return_type() -> None:
    base = java_udf_fingerprint("com.ex.A", "bigint")
    assert java_udf_fingerprint("com.ex.A", "bigint") == base
    assert java_udf_fingerprint("com.ex.B", "bigint") != base
    assert java_udf_fingerprint("com.ex.A", "int") != base
