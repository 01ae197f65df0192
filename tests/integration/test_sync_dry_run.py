"""`connect sync --dry-run` and the one JSON form of `connect sync --json`, against the server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EmbeddedServer, run_connect
from tests.integration.conftest import daemon_status, sync_json
from tests.support import run_connect_in_process

pytestmark = pytest.mark.integration

UDF_MODULE = """
from pyspark.sql.functions import udf

import helpers


@udf("string")
def answer():
    return helpers.word()


@udf("long")
def twice(x):
    return 2 * x
"""


def dry_run(server: EmbeddedServer, root: Path) -> dict[str, Any]:
    result = run_connect_in_process(["sync", "--dry-run", "--json"], env=server.env, cwd=root)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def state_files(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file in the state folder with its bytes and mtime: a rewrite shows."""
    state = root / ".sparkpush"
    return {
        str(p.relative_to(state)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(state.rglob("*"))
        if p.is_file()
    }


def test_dry_run_says_what_the_sync_then_does_and_changes_nothing(
    embedded_server: EmbeddedServer,
    every_kind_project: Path,
) -> None:
    first = sync_json(embedded_server, every_kind_project)
    (every_kind_project / "src" / "mypkg" / "helpers.py").write_text(
        "def tag():\n    return 'v2'\n"
    )
    before = state_files(every_kind_project)
    preview = dry_run(embedded_server, every_kind_project)
    assert state_files(every_kind_project) == before
    assert preview["dry_run"] is True
    assert preview["action"] == "new_generation"
    assert any("pyfiles/mypkg-" in str(r) for r in preview["reasons"])
    assert preview["layer"] == "code"
    synced = sync_json(embedded_server, every_kind_project)
    assert synced["session_id"] != first["session_id"]
    # what the sync did is what the dry run said: the code layer, in a clone of the base
    after = json.loads((every_kind_project / ".sparkpush" / "manifest.json").read_text())
    sent = {
        e["name"]: e["size"] for e in after["entries"] if e["generation"] == synced["generation"]
    }
    assert sorted(preview["upload"]) == sorted(sent)
    assert preview["bytes"] == sum(sent.values()) == synced["bytes"]
    assert synced["layer"] == "code"


def test_dry_run_of_an_added_file_and_of_nothing(
    embedded_server: EmbeddedServer,
    every_kind_project: Path,
) -> None:
    sync_json(embedded_server, every_kind_project)
    assert dry_run(embedded_server, every_kind_project) == {
        "dry_run": True,
        "action": "nothing",
        "reasons": [],
        "upload": [],
        "bytes": 0,
        "udfs": [],
        "layer": None,
        "packages": None,  # no [tool.sparkpush.packages]
    }
    (every_kind_project / "more.txt").write_text("more!")
    pyproject = every_kind_project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('files = ["lookup.txt"]', 'files = ["*.txt"]')
    )
    preview = dry_run(embedded_server, every_kind_project)
    assert preview["action"] == "add_in_place"
    assert preview["upload"] == ["files/more.txt"]
    assert preview["bytes"] == 5
    human = run_connect_in_process(
        ["sync", "--dry-run"], env=embedded_server.env, cwd=every_kind_project
    )
    assert human.returncode == 0, human.stderr
    assert "add in place (dry run: nothing was changed)" in human.stdout
    assert "files/more.txt" in human.stdout
    assert sync_json(embedded_server, every_kind_project)["action"] == "add_in_place"


def test_dry_run_names_the_udfs_an_edit_would_re_register(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = tmp_path / "udf-proj"
    root.mkdir()
    (root / "udfs.py").write_text(UDF_MODULE)
    (root / "helpers.py").write_text("def word():\n    return 'first'\n")
    (root / "pyproject.toml").write_text('[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n')
    first = sync_json(embedded_server, root)
    assert sorted(first["udfs"]) == ["answer", "twice"]
    (root / "helpers.py").write_text("def word():\n    return 'second'\n")
    before = state_files(root)
    preview = dry_run(embedded_server, root)
    assert state_files(root) == before
    assert preview["action"] == "nothing"
    assert preview["udfs"] == ["answer"]  # `twice` pickles the same: not sent again
    second = sync_json(embedded_server, root)
    assert second["udfs"] == ["answer"]
    assert second["session_id"] == first["session_id"]


def test_sync_json_has_the_same_keys_with_and_without_a_daemon(
    embedded_server: EmbeddedServer,
    every_kind_project: Path,
) -> None:
    env = embedded_server.env
    alone = sync_json(embedded_server, every_kind_project)
    assert alone["by_daemon"] is False
    assert run_connect(["daemon", "start"], env=env, cwd=every_kind_project).returncode == 0
    try:
        (every_kind_project / "src" / "mypkg" / "helpers.py").write_text(
            "def tag():\n    return 'v3'\n"
        )
        with_daemon = sync_json(embedded_server, every_kind_project)
        again = sync_json(
            embedded_server, every_kind_project
        )  # answered without a sync: it did nothing
        assert (again["action"], again["uploaded"], again["bytes"]) == ("nothing", 0, 0)
        assert again["session_id"] == with_daemon["session_id"]
        # a dry run asks nothing of the daemon: it plans against the generation record on disk
        syncs = daemon_status(every_kind_project, env)["syncs"]
        assert dry_run(embedded_server, every_kind_project)["action"] == "nothing"
        assert daemon_status(every_kind_project, env)["syncs"] == syncs
    finally:
        run_connect_in_process(["daemon", "stop"], env=env, cwd=every_kind_project)
    assert with_daemon["by_daemon"] is True
    assert set(with_daemon) == set(alone)
    for key in ("skipped", "released", "warnings", "udfs"):
        assert key in with_daemon
