"""TLS through an authenticating proxy: nginx terminates TLS and forwards gRPC to the server.

This is how the Spark Connect docs recommend securing a server. The proxy forwards the
`authorization` header and the embedded server checks the token; the client trusts the proxy
only through the test CA given as `--ca-file` or `ca_file` in the config.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import (
    EmbeddedServer,
    clean_env,
    free_port,
    run_connect,
    run_connect_in_process,
    trust_project,
)
from tests.support import wait_until
from tests.tls_certs import Pki, make_pki

pytestmark = pytest.mark.integration

NGINX_CONFIG = """
daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    client_max_body_size 0;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            grpc_pass grpc://127.0.0.1:{upstream};
            grpc_read_timeout 600s;
            grpc_send_timeout 600s;
        }}
    }}
}}
"""


@dataclass(frozen=True)
class TlsProxy:
    port: int
    pki: Pki
    root: Path

    def remote(self, token: str) -> str:
        return f"sc://localhost:{self.port}/;use_ssl=true;token={token}"

    def requests_seen(self, rpc: str) -> int:
        """How many calls of `rpc` went through the proxy (from its access log)."""
        log = (self.root / "access.log").read_text()
        return log.count(f"/spark.connect.SparkConnectService/{rpc} ")


def find_nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).is_file()), None
    )
    if found is None:
        pytest.fail(
            "nginx is not installed: the TLS proxy tests need it "
            "(scripts/test.sh installs it with apt-get; or apt-get install nginx-light)",
            pytrace=False,
        )
    return found


def wait_for_port(port: int, process: subprocess.Popen[bytes], root: Path) -> None:
    import socket

    def listening() -> bool:
        if process.poll() is not None:
            errors = (root / "error.log").read_text() if (root / "error.log").exists() else ""
            pytest.fail(f"nginx exited with {process.returncode}: {errors}", pytrace=False)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    wait_until(listening, 15, what="nginx to listen")


@pytest.fixture(scope="module")
def tls_proxy(
    embedded_server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TlsProxy]:
    nginx = find_nginx()
    root = tmp_path_factory.mktemp("nginx")
    pki = make_pki(root / "pki")
    port = free_port()
    config = root / "nginx.conf"
    config.write_text(
        NGINX_CONFIG.format(
            root=root,
            port=port,
            cert=pki.cert_file,
            key=pki.key_file,
            upstream=embedded_server.port,
        )
    )
    process = subprocess.Popen(
        [nginx, "-p", str(root), "-e", str(root / "error.log"), "-c", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, process, root)
        yield TlsProxy(port=port, pki=pki, root=root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def env_with_remote(server: EmbeddedServer, remote: str) -> dict[str, str]:
    """The token travels in SPARK_REMOTE (environment), never on a command line."""
    return clean_env(XDG_STATE_HOME=str(server.state_home), SPARK_REMOTE=remote)


def proxied_config(tls_proxy: TlsProxy, token_file: Path, artifacts: str) -> str:
    """A project config that reaches the server only through the proxy, token from a file."""
    return f"""
[tool.sparkpush]
remote = "sc://localhost:{tls_proxy.port}/;use_ssl=true"
token_file = "{token_file}"
ca_file = "{tls_proxy.pki.ca_file}"

[tool.sparkpush.artifacts]
{artifacts}
"""


CHECK_SCRIPT = """
import os, sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("roots", os.environ.get("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"))
print("remote", os.environ["SPARK_REMOTE"].split("/;")[0])
print("count", spark.range(7).count())
"""


def test_submit_through_the_tls_proxy_with_ca_file(
    embedded_server: EmbeddedServer, tls_proxy: TlsProxy, tmp_path: Path
) -> None:
    app = tmp_path / "app.py"
    app.write_text(CHECK_SCRIPT)
    before = tls_proxy.requests_seen("ExecutePlan")
    result = run_connect(
        ["submit", "--ca-file", str(tls_proxy.pki.ca_file), str(app)],
        env=env_with_remote(embedded_server, tls_proxy.remote(embedded_server.token)),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "count 7" in result.stdout
    # The script's own client (the child) trusted the proxy through the CA file...
    assert f"roots {tls_proxy.pki.ca_file}" in result.stdout
    assert f"remote sc://localhost:{tls_proxy.port}" in result.stdout
    # ...and its query really went through the proxy, with the token the server checks.
    assert tls_proxy.requests_seen("ExecutePlan") > before
    assert embedded_server.token not in result.stdout + result.stderr


def test_sync_through_the_tls_proxy_with_ca_file_in_the_config(
    embedded_server: EmbeddedServer, tls_proxy: TlsProxy, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "helper.py").write_text("def f():\n    return 1\n")
    (project / "data.txt").write_text("payload")
    token_file = tmp_path / "token"
    token_file.write_text(embedded_server.token)
    (project / "pyproject.toml").write_text(
        proxied_config(tls_proxy, token_file, 'pyfiles = ["helper.py"]\nfiles = ["data.txt"]')
    )
    env = clean_env(XDG_STATE_HOME=str(embedded_server.state_home))
    untrusted = run_connect_in_process(["sync", "--json"], env=env, cwd=project)
    assert untrusted.returncode == 2, untrusted.stderr
    assert "connect trust" in assert_one_error_line(untrusted, embedded_server.token)
    trust_project(project, env)
    before = tls_proxy.requests_seen("AddArtifacts")
    first = run_connect_in_process(["sync", "--json"], env=env, cwd=project)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["uploaded"] == 2
    assert tls_proxy.requests_seen("AddArtifacts") > before
    again = run_connect_in_process(["sync", "--json"], env=env, cwd=project)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.strip().splitlines()[-1])["action"] == "nothing"


def test_ca_file_flag_overrides_the_config(
    embedded_server: EmbeddedServer, tls_proxy: TlsProxy, tmp_path: Path
) -> None:
    wrong = make_pki(tmp_path / "other", label="another CA")
    project = tmp_path / "project"
    project.mkdir()
    (project / "data.txt").write_text("payload")
    (project / "pyproject.toml").write_text(
        f'[tool.sparkpush]\nca_file = "{wrong.ca_file}"\n'
        '[tool.sparkpush.artifacts]\nfiles = ["data.txt"]\n'
    )
    env = env_with_remote(embedded_server, tls_proxy.remote(embedded_server.token))
    result = run_connect_in_process(
        ["sync", "--json", "--ca-file", str(tls_proxy.pki.ca_file)], env=env, cwd=project
    )
    assert result.returncode == 0, result.stderr


def assert_one_error_line(result: subprocess.CompletedProcess[str], token: str) -> str:
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert token not in result.stderr + result.stdout
    return lines[0]


@pytest.mark.parametrize("command", ["submit", "sync"])
def test_wrong_ca_is_exit_3_with_one_line(
    embedded_server: EmbeddedServer, tls_proxy: TlsProxy, tmp_path: Path, command: str
) -> None:
    wrong = make_pki(tmp_path / "other", label="another CA")
    app = tmp_path / "app.py"
    app.write_text("print('never runs')\n")
    args = ["submit", str(app)] if command == "submit" else ["sync"]
    # a real process even for sync: the failed handshake would add gRPC's own log lines on
    # stderr in this one, where grpc was imported before the CLI could set GRPC_VERBOSITY
    result = run_connect(
        [args[0], "--ca-file", str(wrong.ca_file), *args[1:]],
        env=env_with_remote(embedded_server, tls_proxy.remote(embedded_server.token)),
        cwd=tmp_path,
    )
    assert result.returncode == 3, result.stderr
    line = assert_one_error_line(result, embedded_server.token)
    assert f"localhost:{tls_proxy.port}" in line
    assert "TLS handshake" in line
    assert "certificate is not trusted" in line
    assert "--ca-file" in line
    assert "never runs" not in result.stdout


@pytest.mark.parametrize("command", ["submit", "sync"])
def test_wrong_token_through_the_proxy_is_exit_3_authentication_failed(
    embedded_server: EmbeddedServer, tls_proxy: TlsProxy, tmp_path: Path, command: str
) -> None:
    app = tmp_path / "app.py"
    app.write_text("print('never runs')\n")
    args = ["submit", str(app)] if command == "submit" else ["sync"]
    run = run_connect if command == "submit" else run_connect_in_process  # submit forks
    result = run(
        [args[0], "--ca-file", str(tls_proxy.pki.ca_file), *args[1:]],
        env=env_with_remote(embedded_server, tls_proxy.remote("not-the-token")),
        cwd=tmp_path,
    )
    assert result.returncode == 3, result.stderr
    line = assert_one_error_line(result, "not-the-token")
    assert "authentication failed" in line


def test_missing_ca_file_is_a_usage_error(
    embedded_server: EmbeddedServer, tls_proxy: TlsProxy, tmp_path: Path
) -> None:
    result = run_connect_in_process(
        ["sync", "--ca-file", str(tmp_path / "nope.pem")],
        env=env_with_remote(embedded_server, tls_proxy.remote(embedded_server.token)),
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    line = assert_one_error_line(result, embedded_server.token)
    assert "cannot read CA file" in line


def test_daemon_and_attached_submit_through_the_tls_proxy(
    embedded_server: EmbeddedServer, tls_proxy: TlsProxy, tmp_path: Path
) -> None:
    project = tmp_path / "daemon-project"
    project.mkdir()
    (project / "helper.py").write_text("VALUE = 'through-tls'\n")
    token_file = tmp_path / "daemon-token"
    token_file.write_text(embedded_server.token)
    (project / "pyproject.toml").write_text(
        proxied_config(tls_proxy, token_file, 'pyfiles = ["helper.py"]')
    )
    trust_project(project, clean_env(XDG_STATE_HOME=str(embedded_server.state_home)))
    (project / "app.py").write_text(
        "from pyspark.sql import SparkSession\n"
        "from pyspark.sql.functions import udf\n"
        "spark = SparkSession.builder.getOrCreate()\n"
        "@udf('string')\n"
        "def value(_):\n"
        "    import helper\n"
        "    return helper.VALUE\n"
        "print('value', spark.range(1).select(value('id')).first()[0])\n"
    )
    env = clean_env(XDG_STATE_HOME=str(embedded_server.state_home))
    before = tls_proxy.requests_seen("AddArtifacts")
    started = run_connect(["daemon", "start"], env=env, cwd=project)
    try:
        assert started.returncode == 0, started.stderr
        status = json.loads(
            run_connect(["daemon", "status", "--json"], env=env, cwd=project).stdout
        )
        assert status["last_error"] is None
        assert status["remote"] == f"sc://localhost:{tls_proxy.port}/;use_ssl=true"
        assert tls_proxy.requests_seen("AddArtifacts") > before
        result = run_connect(["submit", "app.py"], env=env, cwd=project)
        assert result.returncode == 0, result.stderr
        assert "attached to the daemon's generation" in result.stderr
        assert "value through-tls" in result.stdout
    finally:
        run_connect(["daemon", "stop"], env=env, cwd=project)
    log = (project / ".sparkpush" / "daemon.log").read_text()
    assert embedded_server.token not in log
