"""The environment cache cannot be turned against its user: an archive planted with the right
`environment.json` never reaches the workers, and a cache folder another user made (a shared
cache folder, mode 1777) is refused, on the real server with a real second uid."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.conftest import EmbeddedServer, run_connect
from tests.integration.conftest import (
    AS_NOBODY,
    NOBODY,
    as_root,
    other_user_python,
    traversable_by_others,
)

pytestmark = pytest.mark.integration

FAKE_PIP = (
    '#!/bin/sh\nwhile [ "$1" != "--target" ]; do shift; done\n'
    'mkdir -p "$2/envmod"; echo "x = 1" > "$2/envmod/__init__.py"\n'
)

APP = """
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf

spark = SparkSession.builder.getOrCreate()


@udf("string")
def where(_):
    import envmod
    return envmod.__file__


print("ROW", spark.range(1).select(where("id")).first()[0])
"""


def project(root: Path) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[tool.sparkpush.environment]\nrequirements = ["envmod==1"]\n'
    )
    (root / "app.py").write_text(APP)
    pip = root.parent / "pip"
    pip.write_text(FAKE_PIP)
    pip.chmod(0o755)
    return root


def planted_archive(marker: Path) -> bytes:
    """An environment whose `bin/python` leaves a mark, then runs the real interpreter."""
    launcher = f'#!/bin/sh\ntouch {marker}\nexec {sys.executable} "$@"\n'.encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        entry = tarfile.TarInfo("bin/python")
        entry.size, entry.mode = len(launcher), 0o755
        tar.addfile(entry, io.BytesIO(launcher))
    return out.getvalue()


def env_for(server: EmbeddedServer, root: Path, cache_home: Path) -> dict[str, str]:
    return {
        **server.env,
        "XDG_CACHE_HOME": str(cache_home),
        "SPARKPUSH_PIP": str(root.parent / "pip"),
    }


def lock_entry(root: Path) -> dict[str, str]:
    (entry,) = json.loads((root / ".sparkpush" / "environment.lock.json").read_text())[
        "environments"
    ]
    return dict(entry)


def test_a_planted_archive_with_the_right_record_never_reaches_the_workers(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = project(tmp_path / "p")
    env = env_for(embedded_server, root, tmp_path / "cache")
    built = run_connect(["env", "build"], env=env, cwd=root, timeout=600)
    assert built.returncode == 0, built.stderr
    entry = lock_entry(root)
    archive = tmp_path / "cache" / "sparkpush" / "envs" / entry["key"] / "env.tar.gz"
    marker = tmp_path / "planted-ran"
    archive.write_bytes(planted_archive(marker))  # environment.json still names the old sha256

    report = tmp_path / "report.json"
    result = run_connect(
        ["submit", "--fresh", "--report", str(report), "app.py"], env=env, cwd=root, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert "sparkpush_env/site-packages/envmod" in result.stdout, result.stdout
    assert not marker.exists()
    (sent,) = [
        a for a in json.loads(report.read_text())["artifacts"] if "sparkpush_env" in a["name"]
    ]
    assert sent["sha256"] == entry["sha256"]


@as_root
def test_a_cache_entry_another_user_planted_in_a_shared_cache_is_refused(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    root = project(tmp_path / "p")
    own = env_for(embedded_server, root, tmp_path / "own-cache")
    built = run_connect(["env", "build"], env=own, cwd=root, timeout=600)
    assert built.returncode == 0, built.stderr
    entry = lock_entry(root)
    meta = tmp_path / "own-cache" / "sparkpush" / "envs" / entry["key"] / "environment.json"

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    marker = tmp_path / "planted-ran"
    bad_bytes = planted_archive(marker)
    plant = (
        "import os, sys\n"
        "folder = os.path.join(sys.argv[1], 'sparkpush', 'envs', sys.argv[2])\n"
        "os.makedirs(folder, 0o755)\n"
        "open(os.path.join(folder, 'environment.json'), 'w').write(sys.argv[3])\n"
        "open(os.path.join(folder, 'env.tar.gz'), 'wb').write(bytes.fromhex(sys.argv[4]))\n"
    )
    with traversable_by_others(shared):
        subprocess.run(
            [
                *AS_NOBODY,
                other_user_python(),
                "-c",
                plant,
                str(shared),
                entry["key"],
                meta.read_text(),
                bad_bytes.hex(),
            ],
            check=True,
            timeout=60,
        )
    planted = shared / "sparkpush" / "envs" / entry["key"]
    assert planted.stat().st_uid == NOBODY

    env = env_for(embedded_server, root, shared)
    for args in (["submit", "--fresh", "app.py"], ["sync"], ["env"]):
        result = run_connect(args, env=env, cwd=root, timeout=600)
        assert result.returncode == 2, (args, result.stderr)
        assert f"belongs to uid {NOBODY}" in result.stderr and "refused" in result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not marker.exists()
    assert (planted / "env.tar.gz").read_bytes() == bad_bytes  # another user's: left alone
    assert os.stat(planted).st_uid == NOBODY
