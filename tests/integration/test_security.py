"""Tokens stay secret and state stays private.

The embedded server's own state modes, its token-free command line and its loopback-only
ports are checked in test_server.py (test_state_is_user_only,
test_token_is_in_no_command_line_and_no_log, test_every_port_of_the_server_is_on_loopback).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EmbeddedServer, clean_env, run_connect, trust_project
from tests.support import run_connect_in_process

pytestmark = pytest.mark.integration

SECRET = "s3cr3t-T0KEN-value"


def env_with_token(server: EmbeddedServer, token: str | None = None) -> dict[str, str]:
    """The remote with its token in the environment (SPARK_REMOTE), the way CI passes it."""
    return clean_env(
        XDG_STATE_HOME=str(server.state_home),
        SPARK_REMOTE=f"sc://localhost:{server.port}/;token={token or server.token}",
    )


def command_lines_holding(secret: bytes) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if secret in cmdline.read_bytes():
                found.append(str(cmdline))
    return found


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def test_token_is_in_no_command_line_while_a_submit_runs(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    app = tmp_path / "app.py"
    app.write_text(
        "import os, time\n"
        "from pyspark.sql import SparkSession\n"
        "spark = SparkSession.builder.getOrCreate()\n"
        "print('started', flush=True)\n"
        "deadline = time.monotonic() + 120\n"
        "while not os.path.exists('scanned') and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "print('rows', spark.range(3).count())\n"
    )
    token = embedded_server.token.encode()
    process = subprocess.Popen(
        [sys.executable, "-m", "sparkpush", "submit", str(app)],
        env=env_with_token(embedded_server),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    scans = 0
    holders: list[str] = []
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "started"  # the child runs the script
        while scans < 5:
            holders += command_lines_holding(token)
            scans += 1
            time.sleep(0.1)
        (tmp_path / "scanned").write_text("")  # the script may end now
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert holders == []
    assert process.returncode == 0, err
    assert "rows 3" in out
    assert embedded_server.token not in out + err


def test_token_is_in_no_report_json_output_or_debug_log(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    (tmp_path / "ok.py").write_text("print('fine')\n")
    (tmp_path / "fails.py").write_text("raise SystemExit(5)\n")
    for script, code in (("ok.py", 0), ("fails.py", 5)):
        report = tmp_path / f"{script}.report.json"
        result = run_connect(
            ["-vv", "submit", "--report", str(report), "--json", script],
            env=env_with_token(embedded_server),
            cwd=tmp_path,
        )
        assert result.returncode == code, result.stderr
        document = json.loads(report.read_text())
        assert document["remote"].startswith(f"sc://localhost:{embedded_server.port}")
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert summary
        for text in (report.read_text(), result.stdout, result.stderr):
            assert embedded_server.token not in text

    project = tmp_path / "project"
    project.mkdir()
    (project / "data.txt").write_text("x")
    (project / "pyproject.toml").write_text('[tool.sparkpush.artifacts]\nfiles = ["data.txt"]\n')
    synced = run_connect(
        ["-vv", "sync", "--json"], env=env_with_token(embedded_server), cwd=project
    )
    assert synced.returncode == 0, synced.stderr
    assert embedded_server.token not in synced.stdout + synced.stderr
    for path in (project / ".sparkpush").rglob("*"):
        if path.is_file():
            assert embedded_server.token.encode() not in path.read_bytes(), path
    log = embedded_server.state_home / "sparkpush" / "server.log"
    assert embedded_server.token.encode() not in log.read_bytes()


@pytest.mark.parametrize(
    "remote",
    [
        f"sc:/localhost/;token={SECRET}",
        f"sc://localhost:99999/;token={SECRET}",
        f"sc://localhost;token={SECRET}",
        f"sc://localhost/path;token={SECRET}",
        f"sc://localhost/;token={SECRET};use_ssl=maybe",
        f"sc://localhost/;token={SECRET};session_id=nope",
        f"sc://localhost/;token={SECRET};token={SECRET}",
        f"sc://localhost/;token={SECRET};broken",
        f"sc://localhost/;TOKEN={SECRET};user_id=a;user_id=b",
    ],
)
def test_token_is_never_in_the_error_for_a_bad_url(tmp_path: Path, remote: str) -> None:
    (tmp_path / "app.py").write_text("print('never runs')\n")
    for env in (
        clean_env(XDG_STATE_HOME=str(tmp_path / "state"), SPARK_REMOTE=remote),
        clean_env(XDG_STATE_HOME=str(tmp_path / "state"), SPARKPUSH_SYNC_REMOTE=remote),
    ):
        args = ["submit", "app.py"] if "SPARK_REMOTE" in env else ["sync"]
        result = run_connect(args, env=env, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "invalid connection string" in result.stderr
        assert SECRET not in result.stderr + result.stdout


def test_wrong_token_error_does_not_echo_it(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text("print('never runs')\n")
    result = run_connect(
        ["submit", "app.py"], env=env_with_token(embedded_server, SECRET), cwd=tmp_path
    )
    assert result.returncode == 3
    assert "authentication failed" in result.stderr
    assert SECRET not in result.stderr + result.stdout


def modes_under(folder: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(folder.stat().st_mode)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_project_state_is_user_only_even_with_a_permissive_umask(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / "src" / "pkg").mkdir(parents=True)
    (project / "src" / "pkg" / "__init__.py").write_text("")
    (project / "data.txt").write_text("x")
    (project / "pyproject.toml").write_text(
        '[tool.sparkpush.artifacts]\npython = ["src/pkg"]\nfiles = ["data.txt"]\n'
    )
    with umask(0):
        first = run_connect_in_process(["sync"], env=embedded_server.env, cwd=project)
        (project / "data.txt").write_text("changed")
        second = run_connect_in_process(["sync"], env=embedded_server.env, cwd=project)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    modes = modes_under(project / ".sparkpush")
    assert "manifest.json" in modes
    wrong = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (project / ".sparkpush" / name).is_dir() else 0o600)
    }
    assert wrong == {}


def tar_gz_with(path: Path, member: str, data: bytes) -> None:
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))


def escaping_alias(victim: Path) -> str:
    """An alias that the executors percent-decode to `../../.../<victim>` (absolute)."""
    up = "%2e%2e%2f" * 30  # more `../` than any folder is deep: `..` at `/` stays at `/`
    return up + "%2f".join(victim.resolve().parts[1:])


@pytest.mark.parametrize("how", ["config", "flag"])
def test_an_encoded_archive_alias_cannot_replace_a_folder_outside_the_session(
    embedded_server: EmbeddedServer, tmp_path: Path, how: str
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    project = tmp_path / "project"
    project.mkdir()
    tar_gz_with(project / "env.tar.gz", "planted.txt", b"from the archive")
    (project / "app.py").write_text("print('never runs')\n")
    archive = f"env.tar.gz#{escaping_alias(victim)}"
    if how == "config":
        (project / "pyproject.toml").write_text(
            f'[tool.sparkpush.artifacts]\narchives = ["{archive}"]\n'
        )
        args = ["sync"]
    else:
        args = ["submit", "--archives", archive, "app.py"]

    result = run_connect(args, env=embedded_server.env, cwd=project, timeout=180)

    assert result.returncode == 2, result.stderr
    assert "must be a plain folder name" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert (victim / "precious.txt").read_text() == "keep me"
    assert not (victim / "planted.txt").exists()


class RecordingEndpoint:
    """A loopback gRPC endpoint standing in for an attacker's host: it records what arrives."""

    def __init__(self) -> None:
        import grpc

        self.metadata: list[dict[str, str]] = []
        endpoint = self

        class Record(grpc.GenericRpcHandler):
            def service(self, details: Any) -> None:
                endpoint.metadata.append(dict(details.invocation_metadata))
                return None  # UNIMPLEMENTED: the client fails, having sent its headers

        self.server = grpc.server(ThreadPoolExecutor(max_workers=2))
        self.server.add_generic_rpc_handlers((Record(),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def received(self, secret: str) -> bool:
        return any(secret in value for seen in self.metadata for value in seen.values())

    def stop(self) -> None:
        self.server.stop(grace=None)


def test_a_repository_config_cannot_send_the_users_token_or_files_elsewhere(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    attacker = RecordingEndpoint()
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("PRIVATE KEY")
    project = tmp_path / "cloned-repo"
    project.mkdir()
    embedded_token = embedded_server.state_home / "sparkpush" / "server.token"
    env = {**embedded_server.env, "HOME": str(home)}

    def configure(token_file: Path) -> None:
        (project / "pyproject.toml").write_text(
            "[tool.sparkpush]\n"
            f'remote = "sc://localhost:{attacker.port}"\n'
            f'token_file = "{token_file}"\n'
            "[tool.sparkpush.artifacts]\n"
            'files = ["~/.ssh/*"]\n'
        )

    try:
        configure(embedded_token)
        untrusted = run_connect_in_process(["sync"], env=env, cwd=project)
        assert not attacker.received(embedded_server.token)
        assert untrusted.returncode == 2, untrusted.stderr
        assert "sets remote, token_file (not trusted)" in untrusted.stderr
        assert attacker.metadata == []  # nothing was sent at all

        # Trusted, the embedded server's token still never goes to another host.
        trust_project(project, env)
        trusted = run_connect_in_process(["sync"], env=env, cwd=project)
        assert not attacker.received(embedded_server.token)
        assert trusted.returncode == 2, trusted.stderr
        assert "only ever sent to the embedded server" in trusted.stderr
        assert attacker.metadata == []

        # A token of the project's own: the files outside the project are still refused.
        own_token = project / "token"
        own_token.write_text("project-token")
        configure(own_token)
        changed = run_connect_in_process(["sync"], env=env, cwd=project)
        assert changed.returncode == 2, changed.stderr
        assert "changed since it was trusted" in changed.stderr
        trust_project(project, env)
        outside = run_connect_in_process(["sync"], env=env, cwd=project)
        assert outside.returncode == 2, outside.stderr
        assert "id_rsa leads outside the project" in outside.stderr
        assert not attacker.received(embedded_server.token)
    finally:
        attacker.stop()


def test_the_users_token_goes_only_to_the_remote_it_was_configured_with(
    tmp_path: Path, user_config_home: Path
) -> None:
    home, attacker = RecordingEndpoint(), RecordingEndpoint()
    token = "users-own-token-for-home"
    (user_config_home / "sparkpush").mkdir(parents=True, exist_ok=True)
    (user_config_home / "sparkpush" / "token").write_text(token)
    (user_config_home / "sparkpush" / "config.toml").write_text(
        f'remote = "sc://localhost:{home.port}"\ntoken_file = "token"\n'
    )
    project = tmp_path / "cloned-repo"
    project.mkdir()
    env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"))
    try:
        (project / "pyproject.toml").write_text(
            f'[tool.sparkpush]\nremote = "sc://localhost:{attacker.port}"\n'
        )
        trust_project(project, env)  # the prompt names only `remote`
        to_attacker = [
            (["sync"], env),
            (["sync", "--remote", f"sc://localhost:{attacker.port}"], env),
            (["sync"], {**env, "SPARK_REMOTE": f"sc://localhost:{attacker.port}"}),
        ]
        for args, each_env in to_attacker:
            result = run_connect(args, env=each_env, cwd=project, timeout=120)
            assert result.returncode != 0
            assert "not sending token_file" in result.stderr, result.stderr
        assert attacker.metadata and not attacker.received(token)

        (project / "pyproject.toml").write_text("[tool.sparkpush]\n")  # the user's own remote
        run_connect(["sync"], env=env, cwd=project, timeout=120)
        assert home.received(token)
    finally:
        home.stop()
        attacker.stop()
