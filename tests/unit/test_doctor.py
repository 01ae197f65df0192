"""`connect doctor`'s pure parts, and its server checks against the in-memory server."""

from __future__ import annotations

import json
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from sparkpush.cli.commands.doctor import render_check
from sparkpush.config.settings import Config, load_config
from sparkpush.config.trust import record_trust
from sparkpush.doctor.checks import (
    Check,
    check_artifacts,
    check_spark_version,
    check_trust,
    check_worker_python,
    run_checks,
)
from sparkpush.remote.server_facts import CLONE_SESSION, WORKER_PYTHON, ServerFacts
from sparkpush.remote.target import Target
from tests.fake_session import FakeServer


def probe_answering(stdout: str | None) -> Callable[[Target], str | None]:
    """A fake probe child that answers `stdout`, and fails the test when run twice."""
    runs: list[Target] = []

    def probe(target: Target) -> str | None:
        assert not runs, "the workers were asked twice"
        runs.append(target)
        return stdout

    return probe


HERE = f"{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.mark.parametrize(
    ("stdout", "ok", "detail"),
    [
        (
            json.dumps({"error": "Python in worker has different version: 3.1 than that"}),
            False,
            f"server workers run Python 3.1, here {HERE}",
        ),
        (json.dumps({"error": "boom"}), False, "cannot find what the server's Python workers run"),
        (None, False, "did not answer within"),
    ],
)
def test_the_worker_python_check(stdout: str | None, ok: bool, detail: str) -> None:
    server = FakeServer()
    target = server.target()
    with target.session() as client:
        check = check_worker_python(ServerFacts(target, client, probe=probe_answering(stdout)))
    assert (check.ok, check.name) == (ok, "worker python")
    assert detail in check.detail
    assert check.fix


def test_the_worker_python_check_trusts_what_this_server_start_answered() -> None:
    server = FakeServer()
    target = server.target()
    with target.session() as client:
        ServerFacts(target, client).remember(WORKER_PYTHON, HERE)
    with target.session() as client:
        check = check_worker_python(ServerFacts(target, client, probe=probe_answering(None)))
    assert check.ok and check.detail == f"server workers run Python {HERE}, here {HERE}"


def test_spark_major_mismatch_fails_with_a_fix() -> None:
    check = check_spark_version("3.5.1")
    assert not check.ok
    assert "pyspark 3.x" in check.fix


def test_render_check_shows_the_fix_only_on_failure() -> None:
    assert render_check(Check("java", True, "Java 17", "unused")) == "OK   java: Java 17"
    assert (
        render_check(Check("java", False, "no Java", "install Java 17+"))
        == "FAIL java: no Java -- fix: install Java 17+"
    )


def project_config(root: Path, body: str) -> Config:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(body)
    return load_config(cwd=root)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[tool.sparkpush.artifacts]\nfiles = ["nope.txt"]\n', "nope.txt does not exist"),
        ('[tool.sparkpush.artifacts]\nfiles = ["../outside.txt"]\n', "leads outside the project"),
        ('[tool.sparkpush.artifacts]\narchives = ["env.zip#%2e%2e"]\n', "plain folder name"),
        ('[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n', "UDF module udfs.py does not exist"),
    ],
)
def test_doctor_fails_where_sync_would(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "outside.txt").write_text("x")
    (tmp_path / "project").mkdir()
    with zipfile.ZipFile(tmp_path / "project" / "env.zip", "w") as archive:
        archive.writestr("a.txt", "a")
    check = check_artifacts(project_config(tmp_path / "project", body))
    assert not check.ok
    assert message in check.detail
    assert check.fix


def test_doctor_counts_what_sync_would_send(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("abc")
    check = check_artifacts(
        project_config(tmp_path, '[tool.sparkpush.artifacts]\nfiles = ["data.txt"]\n')
    )
    assert check.ok
    assert check.detail == "1 artifact(s), 3 bytes"


def test_doctor_reports_an_untrusted_remote(tmp_path: Path) -> None:
    config = project_config(tmp_path, '[tool.sparkpush]\nremote = "sc://elsewhere:1"\n')
    check = check_trust(config)
    assert not check.ok
    assert "remote (not trusted)" in check.detail
    assert "connect trust" in check.fix
    assert config.source is not None
    record_trust(config.source, config.credentials_digest)
    assert check_trust(load_config(cwd=tmp_path)).ok


def test_doctor_config_check_is_followed_by_trust_and_artifacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # no embedded server
    (tmp_path / "pyproject.toml").write_text('[tool.sparkpush.artifacts]\nfiles = ["nope"]\n')
    checks = run_checks(tmp_path / "pyproject.toml", env={})
    by_name = {check.name: check for check in checks}
    assert by_name["config"].ok
    assert by_name["trust"].ok
    assert not by_name["artifacts"].ok


def test_doctor_does_not_contact_an_untrusted_remote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    (tmp_path / "pyproject.toml").write_text('[tool.sparkpush]\nremote = "sc://localhost:1"\n')
    by_name = {c.name: c for c in run_checks(tmp_path / "pyproject.toml", env={})}
    assert not by_name["trust"].ok
    assert by_name["remote"].detail.startswith("not checked: the project's config is not trusted")


def test_the_layers_check_says_whether_the_server_clones_and_remembers_it(tmp_path: Path) -> None:
    from sparkpush.config.settings import LayerSettings
    from sparkpush.doctor.checks import check_layers

    for supports, verdict in ((True, "on: a code change clones"), (False, "not on this server")):
        server = FakeServer(supports_clone=supports, version="4.1.0")
        target = server.target()
        with target.session() as probe:
            check = check_layers(Config(project_root=tmp_path), ServerFacts(target, probe), probe)
        assert check.ok and check.detail.startswith(verdict), check
        with target.session() as asking:
            assert ServerFacts(target, asking).known(CLONE_SESSION) is supports
        assert server.released == server.clones  # the probe's clone, if any, is released
    off = Config(project_root=tmp_path, layers=LayerSettings(enabled=False))
    with FakeServer().target().session() as probe:
        facts = ServerFacts(FakeServer().target(), probe)
        assert check_layers(off, facts, probe).detail.startswith("off")
