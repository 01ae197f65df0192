"""`ensure_packages` without a JVM where the lock and the cache answer; the server's own
packages and confs: checked, digested, and a running server with others named."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkpush.config.settings import load_config
from sparkpush.errors import ConfigError, PackageChecksumError
from sparkpush.packages import resolve
from sparkpush.packages.cache import store_jars
from sparkpush.packages.lock import LockedJar, LockEntry, record_entry
from sparkpush.packages.maven_settings import MavenSettings
from sparkpush.packages.server_side import extras_mismatch, server_settings_digest
from sparkpush.packages.spec import read_spec
from sparkpush.server.server_conf import check_server_conf


def project(tmp_path: Path, body: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(body)
    return tmp_path


def locked_project(tmp_path: Path) -> tuple[Path, LockedJar]:
    root = project(tmp_path, '[tool.sparkpush.packages]\ncoordinates = ["g:a:1.0"]\n')
    source = tmp_path / "a.jar"
    source.write_bytes(b"the jar")
    [stored] = store_jars([source])
    jar = LockedJar("g:a:1.0", "jars/g_a-1.0.jar", "1.0", stored.sha256, stored.size, "central")
    spec = read_spec(load_config(cwd=root), maven=MavenSettings())
    record_entry(
        root,
        LockEntry(resolve.current_input_key(spec), "session", ("g:a:1.0",), (), (jar,)),
    )
    return root, jar


def test_an_unchanged_lock_runs_no_ivy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, jar = locked_project(tmp_path)

    def no_ivy(*args: object) -> None:
        raise AssertionError("Ivy ran for an unchanged lock")

    monkeypatch.setattr(resolve, "run_ivy", no_ivy)
    monkeypatch.setattr(resolve, "resolve_with_ivy", no_ivy)
    config = load_config(cwd=root)
    found = resolve.ensure_packages(config, read_spec(config, maven=MavenSettings()))
    assert not found.resolved_now
    assert [(j.name, c.sha256) for j, c in found.pairs()] == [(jar.name, jar.sha256)]


def test_a_refetched_jar_must_be_the_one_the_lock_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, jar = locked_project(tmp_path)
    resolve_calls: list[str] = []
    other = tmp_path / "other.jar"
    other.write_bytes(b"another jar")

    def fake_resolve(
        spec: object, key: str, provided: object
    ) -> tuple[LockEntry, tuple[object, ...]]:
        resolve_calls.append(key)
        [stored] = store_jars([other])
        swapped = LockedJar(
            "g:a:1.0", jar.name, "1.0", stored.sha256, stored.size, "https://evil.example/"
        )
        return LockEntry(key, "session", ("g:a:1.0",), (), (swapped,)), (stored,)

    monkeypatch.setattr(resolve, "resolve_with_ivy", fake_resolve)
    from sparkpush.packages.cache import jar_path

    jar_path(jar.sha256).unlink()  # gone from the cache: fetched again
    config = load_config(cwd=root)
    with pytest.raises(PackageChecksumError, match="is not the jar the lock names"):
        resolve.ensure_packages(config, read_spec(config, maven=MavenSettings()))
    assert resolve_calls


@pytest.mark.parametrize(
    ("conf", "says"),
    [
        ({"spark.connect.grpc.binding.address": "0.0.0.0"}, "set by sparkpush"),
        ({"spark.connect.authenticate.token": "known"}, "set by sparkpush"),
        ({"spark.driver.bindAddress": "0.0.0.0"}, "set by sparkpush"),
        ({"spark.master": "yarn"}, "set by sparkpush"),
        ({"spark.sql.x": "a\nspark.connect.grpc.binding.address=0.0.0.0"}, "line break"),
        ({"bad key": "x"}, "not a Spark conf key"),
        ({"a=b": "x"}, "not a Spark conf key"),
    ],
)
def test_server_conf_cannot_open_the_server(conf: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        check_server_conf(conf, "server.conf")


def test_server_conf_that_is_fine() -> None:
    conf = {"spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension"}
    assert check_server_conf(conf, "server.conf") == conf


def test_server_settings_are_digested_and_a_difference_named(tmp_path: Path) -> None:
    plain = load_config(cwd=project(tmp_path, ""))
    assert server_settings_digest(plain) == ""
    assert extras_mismatch(plain, "") is None
    with_conf = load_config(
        cwd=project(tmp_path, '[tool.sparkpush.server.conf]\n"spark.sql.extensions" = "x"\n')
    )
    digest = server_settings_digest(with_conf)
    assert digest and extras_mismatch(with_conf, digest) is None
    line = extras_mismatch(with_conf, "")
    assert line is not None and "connect server stop && connect server start" in line
    other = extras_mismatch(plain, digest)
    assert other is not None and "does not ask for" in other
