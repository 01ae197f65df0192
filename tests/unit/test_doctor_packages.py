"""`connect doctor` on a project's packages: resolved and cached, or what to run."""

from __future__ import annotations

from pathlib import Path

from sparkpush.config.settings import load_config
from sparkpush.doctor.checks import check_packages
from sparkpush.packages.cache import store_jars
from sparkpush.packages.lock import LockedJar, LockEntry, record_entry
from sparkpush.packages.resolve import current_input_key
from sparkpush.packages.spec import read_spec


def test_doctor_says_whether_the_packages_are_resolved(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.sparkpush.packages]\ncoordinates = ["g:a:1.0"]\n'
    )
    config = load_config(cwd=tmp_path)
    [check] = check_packages(config)
    assert not check.ok and "not resolved yet" in check.detail
    assert check.fix == "run 'connect packages resolve'"
    source = tmp_path / "a.jar"
    source.write_bytes(b"jar")
    [stored] = store_jars([source])
    jar = LockedJar("g:a:1.0", "jars/g_a-1.0.jar", "1.0", stored.sha256, stored.size, "x")
    key = current_input_key(read_spec(config))
    record_entry(tmp_path, LockEntry(key, "session", ("g:a:1.0",), (), (jar,)))
    [check] = check_packages(config)
    assert check.ok and "1 jar(s), 3 bytes, locked and cached" in check.detail
    stored.path.unlink()
    [check] = check_packages(config)
    assert not check.ok and "missing from the cache" in check.detail


def test_doctor_has_nothing_to_say_without_packages(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    assert check_packages(load_config(cwd=tmp_path)) == []
