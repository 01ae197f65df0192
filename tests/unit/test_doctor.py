"""`connect doctor`'s pure parts: reading the probe's answer, versions, rendering."""

from __future__ import annotations

import json
import zipfile
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
    parse_probe_answer,
    run_checks,
)


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        (json.dumps({"version": [3, 11]}), (3, 11)),
        ("noise\n" + json.dumps({"version": [3, 12]}) + "\n", (3, 12)),
        (
            json.dumps(
                {
                    "error": "[PYTHON_VERSION_MISMATCH] Python in worker has different version: "
                    "3.10 than that in driver: 3.11, PySpark cannot run with different minor"
                }
            ),
            (3, 10),
        ),
        (json.dumps({"error": "boom"}), "boom"),
        ("", "the probe UDF failed without a message"),
        ("Traceback (most recent call last):", "the probe UDF failed without a message"),
    ],
)
def test_parse_probe_answer(stdout: str, expected: object) -> None:
    assert parse_probe_answer(stdout) == expected


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
    from sparkpush.sync.clone_support import CloneSupport, client_version, server_key
    from tests.fake_session import FakeServer

    for supports, verdict in ((True, "on: a code change clones"), (False, "not on this server")):
        server = FakeServer(supports_clone=supports)
        target = server.target()
        with target.session() as probe:
            check = check_layers(Config(project_root=tmp_path), target, probe, "4.1.0")
        assert check.ok and check.detail.startswith(verdict), check
        key = server_key(target.spec.display(), "4.1.0", client_version())
        assert CloneSupport().known(key) is supports
        assert server.released == server.clones  # the probe's clone, if any, is released
    off = Config(project_root=tmp_path, layers=LayerSettings(enabled=False))
    with FakeServer().target().session() as probe:
        assert check_layers(off, FakeServer().target(), probe, "4.1.0").detail.startswith("off")
