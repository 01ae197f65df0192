"""The digest that lets a sync skip loading UDF modules when no Python source changed."""

from __future__ import annotations

import os
from pathlib import Path

from sparkpush.config.settings import load_config
from sparkpush.sync.udf_sources import udf_sources_signature

OLD_NS = 1_700_000_000 * 1_000_000_000  # long outside the window where a write may not move mtime


def project(root: Path, modules: str = '["udfs.py"]') -> Path:
    (root / "pyproject.toml").write_text(f"[tool.sparkpush.udf]\nmodules = {modules}\n")
    (root / "udfs.py").write_text("from helpers import one\n")
    (root / "helpers.py").write_text("def one():\n    return 1\n")
    (root / "data.csv").write_text("a,b\n")
    settle(root)
    return root


def settle(root: Path, *, later_ns: int = 0) -> None:
    """Every file's mtime set to the same old time (plus `later_ns`)."""
    for path in root.rglob("*"):
        os.utime(path, ns=(OLD_NS + later_ns, OLD_NS + later_ns))


def signature(root: Path) -> str | None:
    return udf_sources_signature(load_config(cwd=root))


def test_unchanged_sources_give_the_same_digest(tmp_path: Path) -> None:
    root = project(tmp_path)
    first = signature(root)
    assert first is not None and signature(root) == first


def test_a_changed_helper_module_changes_the_digest(tmp_path: Path) -> None:
    root = project(tmp_path)
    before = signature(root)
    (root / "helpers.py").write_text("def one():\n    return 2\n")
    settle(root, later_ns=1_000_000_000)
    assert signature(root) != before


def test_a_file_that_is_not_python_does_not_count(tmp_path: Path) -> None:
    root = project(tmp_path)
    before = signature(root)
    (root / "data.csv").write_text("a,b,c\n")
    settle(root)
    assert signature(root) == before


def test_a_changed_udf_setting_changes_the_digest(tmp_path: Path) -> None:
    root = project(tmp_path)
    before = signature(root)
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.udf]\nmodules = ["udfs.py"]\nnames = { one = "plus_one" }\n'
    )
    settle(root)
    assert signature(root) != before


def test_a_source_written_just_now_cannot_be_trusted(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "helpers.py").write_text("def one():\n    return 3\n")
    assert signature(root) is None
