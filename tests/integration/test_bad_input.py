"""A corpus of bad input: each case exits with its documented code and one clear line.

No case may show a traceback (a traceback means a bug in sparkpush): stderr holds exactly one
error line, `error: ...` for our own errors or click's `Error: ...` for malformed flags.
Cases run the CLI in this process, except those that start a server or a script process
(`OWN_PROCESS`): they run `connect` as a real process, as users do.
"""

from __future__ import annotations

import os
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
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
from tests.local_index import write_local_index

pytestmark = pytest.mark.integration

USAGE, UNREACHABLE = 2, 3
Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    id: str
    args: list[str]
    code: int
    message: str
    config: str | None = None
    """`pyproject.toml` of the project the command runs in."""
    setup: Setup | None = None
    env: dict[str, str] = field(default_factory=dict)
    private_state: bool = False
    """Run with an empty state folder instead of the test session's server."""
    trusted: bool = False
    """Run `connect trust` first: the config's remote, token_file and ca_file take effect."""

    def __str__(self) -> str:
        return self.id


def write(relative: str, data: str | bytes) -> Setup:
    def setup(root: Path) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)

    return setup


def symlink_loop(relative: str) -> Setup:
    def setup(root: Path) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(path.name)

    return setup


def package_with_loop(root: Path) -> None:
    package = root / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "again").symlink_to("..", target_is_directory=True)


def package_with_bad_name(root: Path) -> None:
    package = root / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    with open(os.fsencode(package) + b"/caf\xe9.py", "wb") as stream:
        stream.write(b"x = 1\n")


def a_zip(relative: str) -> Setup:
    def setup(root: Path) -> None:
        with zipfile.ZipFile(root / relative, "w") as archive:
            archive.writestr("a.txt", "a")

    return setup


ENV = "[tool.sparkpush.environment]\n"
LOCAL_INDEX_ENV = {
    "PIP_NO_INDEX": "1",
    "PIP_FIND_LINKS": "{root}/links",
    "PIP_CONFIG_FILE": os.devnull,
}
"""pip reads only the index on disk that `local_index` writes: no network."""


def local_index(root: Path) -> None:
    write_local_index(root / "links")


def platform_wheel(root: Path) -> None:
    dist = root / "dist"
    dist.mkdir()
    with zipfile.ZipFile(dist / "fast-1.0-cp311-cp311-linux_x86_64.whl", "w") as wheel:
        wheel.writestr("fast.py", "")
        wheel.writestr(
            "fast-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp311-cp311-linux_x86_64\n",
        )


def java(version_line: str) -> Setup:
    """A fake `java` on PATH that prints `version_line` like `java -version` does."""

    def setup(root: Path) -> None:
        fake = root / "fakebin" / "java"
        fake.parent.mkdir()
        fake.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
        fake.chmod(0o755)

    return setup


def link(relative: str, target: str) -> Setup:
    def setup(root: Path) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)

    return setup


def all_of(*setups: Setup) -> Setup:
    def setup(root: Path) -> None:
        for each in setups:
            each(root)

    return setup


APP = "app.py"
UDF_CONFIG = '[tool.sparkpush.udf]\nmodules = ["udfs.py"]\n'
SUBMIT = ["submit", APP]

CASES = [
    # --- configuration files --------------------------------------------------------------
    Case("toml-syntax", ["sync"], USAGE, "invalid TOML", config="[tool.sparkpush\nremote = 1\n"),
    Case(
        "toml-not-utf8",
        ["sync"],
        USAGE,
        "invalid TOML",
        config=None,
        setup=write("pyproject.toml", b'[tool.sparkpush]\nuser_id = "\xff"\n'),
    ),
    Case(
        "unknown-key",
        ["sync"],
        USAGE,
        "unknown key 'remot'",
        config='[tool.sparkpush]\nremot = "sc://x"\n',
    ),
    Case(
        "unknown-nested-key",
        ["sync"],
        USAGE,
        "unknown key 'server.prt'",
        config="[tool.sparkpush.server]\nprt = 1\n",
    ),
    Case(
        "port-not-int",
        ["sync"],
        USAGE,
        "'server.port' must be an integer",
        config='[tool.sparkpush.server]\nport = "15002"\n',
    ),
    Case(
        "ui-not-bool",
        ["sync"],
        USAGE,
        "'server.ui' must be true or false",
        config='[tool.sparkpush.server]\nui = "yes"\n',
    ),
    Case(
        "python-not-list",
        ["sync"],
        USAGE,
        "'artifacts.python' must be a list of strings",
        config='[tool.sparkpush.artifacts]\npython = "src"\n',
    ),
    Case(
        "conf-not-strings",
        ["sync"],
        USAGE,
        "'conf' must be a table of strings",
        config='[tool.sparkpush.conf]\n"spark.sql.shuffle.partitions" = 8\n',
    ),
    Case(
        "sparkpush-not-table",
        ["sync"],
        USAGE,
        "tool.sparkpush must be a table",
        config="[tool]\nsparkpush = 3\n",
    ),
    Case(
        "server-not-table",
        ["sync"],
        USAGE,
        "'server' must be a table",
        config="[tool.sparkpush]\nserver = 1\n",
    ),
    Case(
        "java-udf-not-table",
        ["sync"],
        USAGE,
        "'java_udfs.f' must be a table",
        config="[tool.sparkpush.java_udfs]\nf = 1\n",
    ),
    Case(
        "config-missing",
        ["--config", "nope.toml", "sync"],
        USAGE,
        "config file nope.toml does not exist",
    ),
    Case(
        "config-symlink-loop",
        ["--config", "loop.toml", "sync"],
        USAGE,
        "loop.toml",
        setup=symlink_loop("loop.toml"),
    ),
    Case(
        "token-file-missing",
        ["sync"],
        USAGE,
        "cannot read token file",
        config='[tool.sparkpush]\nremote = "sc://localhost:1"\ntoken_file = "nope"\n',
        trusted=True,
    ),
    Case(
        "token-file-empty",
        ["sync"],
        USAGE,
        "is empty",
        config='[tool.sparkpush]\nremote = "sc://localhost:1"\ntoken_file = "t"\n',
        setup=write("t", ""),
        trusted=True,
    ),
    # --- a repository's config choosing where data and credentials go ----------------------
    Case(
        "untrusted-remote",
        ["sync"],
        USAGE,
        "sets remote, ca_file (not trusted)",
        config='[tool.sparkpush]\nremote = "sc://localhost:{free}/;use_ssl=true"\n'
        'ca_file = "ca.pem"\n',
    ),
    Case(
        "untrusted-remote-in-submit",
        SUBMIT,
        USAGE,
        "connect trust",
        config='[tool.sparkpush]\nremote = "sc://localhost:{free}"\n',
    ),
    Case(
        "embedded-token-to-another-remote",
        ["sync"],
        USAGE,
        "only ever sent to the embedded server",
        config='[tool.sparkpush]\nremote = "sc://localhost:{free}"\n'
        'token_file = "{state}/sparkpush/server.token"\n',
        trusted=True,
    ),
    Case(
        "files-absolute-outside",
        ["sync"],
        USAGE,
        "leads outside the project",
        config='[tool.sparkpush.artifacts]\nfiles = ["/etc/hostname"]\n',
    ),
    Case(
        "files-glob-dotdot",
        ["sync"],
        USAGE,
        "../outside.txt leads outside the project",
        config='[tool.sparkpush.artifacts]\nfiles = ["../*.txt"]\n',
        setup=write("../outside.txt", "secret"),
    ),
    Case(
        "files-home",
        ["sync"],
        USAGE,
        "leads outside the project",
        config='[tool.sparkpush.artifacts]\nfiles = ["~/.ssh/*"]\n',
        setup=write("../home/.ssh/id_rsa", "PRIVATE KEY"),
        env={"HOME": "{root}/../home"},
    ),
    Case(
        "symlink-out-of-project",
        ["sync"],
        USAGE,
        "envdump.txt leads outside the project (a symlink to /proc/",
        config='[tool.sparkpush.artifacts]\nfiles = ["envdump.txt"]\n',
        setup=link("envdump.txt", "/proc/self/environ"),
    ),
    Case(
        "symlink-out-of-package",
        ["sync"],
        USAGE,
        "envdump.py leads outside the project (a symlink to /proc/",
        config='[tool.sparkpush.artifacts]\npython = ["src/pkg"]\n',
        setup=all_of(
            write("src/pkg/__init__.py", ""), link("src/pkg/envdump.py", "/proc/self/environ")
        ),
    ),
    Case(
        "symlink-to-root-folder",
        ["sync"],
        USAGE,
        "everything leads outside the project (a symlink to /)",
        config='[tool.sparkpush.artifacts]\npython = ["src/pkg"]\n',
        setup=all_of(write("src/pkg/__init__.py", ""), link("src/pkg/everything", "/")),
    ),
    # --- sc:// connection strings -------------------------------------------------------------
    Case("url-scheme", ["sync", "--remote", "http://h:1"], USAGE, "must start with 'sc://'"),
    Case("url-no-host", ["sync", "--remote", "sc://"], USAGE, "the host is missing"),
    Case("url-empty-port", ["sync", "--remote", "sc://h:"], USAGE, "the port is empty"),
    Case("url-port-range", ["sync", "--remote", "sc://h:99999"], USAGE, "is not a number"),
    Case("url-port-text", ["sync", "--remote", "sc://h:abc"], USAGE, "is not a number"),
    Case(
        "url-params-no-slash",
        ["sync", "--remote", "sc://h;use_ssl=true"],
        USAGE,
        "parameters go after a '/'",
    ),
    Case("url-path", ["sync", "--remote", "sc://h/db"], USAGE, "a path is not allowed"),
    Case(
        "url-use-ssl",
        ["sync", "--remote", "sc://h/;use_ssl=maybe"],
        USAGE,
        "use_ssl must be true or false",
    ),
    Case(
        "url-session-id",
        ["sync", "--remote", "sc://h/;session_id=42"],
        USAGE,
        "session_id must be a UUID",
    ),
    Case(
        "url-param-twice",
        ["sync", "--remote", "sc://h/;user_id=a;user_id=b"],
        USAGE,
        "is given twice",
    ),
    Case("url-param-no-value", ["sync", "--remote", "sc://h/;flag"], USAGE, "is not key=value"),
    Case("url-ipv6-unclosed", ["sync", "--remote", "sc://[::1:15002"], USAGE, "unclosed '['"),
    Case("url-bad-host", ["sync", "--remote", "sc://user@h:1"], USAGE, "bad host"),
    Case(
        "url-token-without-key",
        ["sync", "--remote", "sc://localhost:{port}/;{token}"],
        USAGE,
        "is not key=value",
    ),
    Case(
        "env-submit-timeout",
        SUBMIT,
        USAGE,
        "--timeout (from SPARKPUSH_SUBMIT_TIMEOUT) must be a positive number of seconds, not 'abc'",
        env={"SPARKPUSH_SUBMIT_TIMEOUT": "abc"},
    ),
    Case(
        "env-server-port",
        ["server", "start"],
        USAGE,
        "Invalid value for '--port' (from SPARKPUSH_SERVER_START_PORT): 'abc'",
        env={"SPARKPUSH_SERVER_START_PORT": "abc"},
    ),
    Case(
        "env-config",
        ["sync"],
        USAGE,
        "config file nope.toml does not exist",
        env={"SPARKPUSH_CONFIG": "nope.toml"},
    ),
    Case(
        "url-from-env",
        SUBMIT,
        USAGE,
        "must start with 'sc://'",
        env={"SPARK_REMOTE": "localhost:15002"},
    ),
    Case(
        "url-in-config",
        ["sync"],
        USAGE,
        "invalid connection string",
        config='[tool.sparkpush]\nremote = "sc://h:0"\n',
    ),
    # --- paths and artifacts --------------------------------------------------------------------
    Case("script-missing", ["submit", "missing.py"], USAGE, "script missing.py does not exist"),
    Case(
        "script-is-folder",
        ["submit", "src"],
        USAGE,
        "script src is not a file",
        setup=write("src/x.py", ""),
    ),
    Case("script-not-utf8-name", ["submit", os.fsdecode(b"caf\xe9.py")], USAGE, "does not exist"),
    Case("no-script", ["submit"], USAGE, "no script given"),
    Case(
        "py-file-missing",
        ["submit", "--py-files", "nope.py", APP],
        USAGE,
        "--py-files: nope.py does not exist",
    ),
    Case(
        "py-file-kind",
        ["submit", "--py-files", "data.txt", APP],
        USAGE,
        "is not a .py, .zip or .egg file",
        setup=write("data.txt", "x"),
    ),
    Case(
        "jar-symlink-loop",
        ["submit", "--jars", "loop.jar", APP],
        USAGE,
        "loop.jar",
        setup=symlink_loop("loop.jar"),
    ),
    Case(
        "file-is-folder",
        ["submit", "--files", "src", APP],
        USAGE,
        "src is not a file",
        setup=write("src/x.txt", ""),
    ),
    Case(
        "archive-alias-slash",
        ["submit", "--archives", "env.zip#a/b", APP],
        USAGE,
        "must be a plain folder name",
        setup=a_zip("env.zip"),
    ),
    Case(
        "archive-alias-dotdot",
        ["submit", "--archives", "env.zip#..", APP],
        USAGE,
        "must be a plain folder name",
        setup=a_zip("env.zip"),
    ),
    Case(
        "archive-alias-in-config",
        ["sync"],
        USAGE,
        "must be a plain folder name",
        config='[tool.sparkpush.artifacts]\narchives = ["env.zip#../up"]\n',
        setup=a_zip("env.zip"),
    ),
    Case(
        "archive-alias-percent-encoded",
        ["sync"],
        USAGE,
        "must be a plain folder name",
        config='[tool.sparkpush.artifacts]\narchives = ["env.zip#%2e%2e%2f%2e%2e%2fvictim"]\n',
        setup=a_zip("env.zip"),
    ),
    Case(
        "archive-alias-percent-encoded-flag",
        ["submit", "--archives", "env.zip#%2e%2e%2fvictim", APP],
        USAGE,
        "--archives: alias",
        setup=a_zip("env.zip"),
    ),
    Case(
        "archive-alias-too-long",
        ["sync"],
        USAGE,
        "longer than 255 bytes",
        config=f'[tool.sparkpush.artifacts]\narchives = ["env.zip#{"a" * 256}"]\n',
        setup=a_zip("env.zip"),
    ),
    Case(
        "file-name-backslash",
        ["sync"],
        USAGE,
        "'\\' in an artifact name",
        config='[tool.sparkpush.artifacts]\nfiles = ["back\\\\slash.txt"]\n',
        setup=write("back\\slash.txt", "x"),
    ),
    Case(
        "file-name-backslash-flag",
        ["submit", "--files", "back\\slash.txt", APP],
        USAGE,
        "--files: files/back\\slash.txt",
        setup=write("back\\slash.txt", "x"),
    ),
    Case(
        "packed-name-too-long",
        ["sync"],
        USAGE,
        "longer than 255 bytes",
        config=f'[tool.sparkpush.artifacts]\npython = ["src/{"p" * 250}"]\n',
        setup=write(f"src/{'p' * 250}/__init__.py", ""),
    ),
    Case(
        "config-path-missing",
        ["sync"],
        USAGE,
        "does not exist",
        config='[tool.sparkpush.artifacts]\nfiles = ["nope.txt"]\n',
    ),
    Case(
        "config-package-symlink-loop",
        ["sync"],
        USAGE,
        "symlink loop",
        config='[tool.sparkpush.artifacts]\npython = ["src/pkg"]\n',
        setup=package_with_loop,
    ),
    Case(
        "config-non-utf8-file-name",
        ["sync"],
        USAGE,
        "not valid UTF-8",
        config='[tool.sparkpush.artifacts]\npython = ["src/pkg"]\n',
        setup=package_with_bad_name,
    ),
    Case(
        "broken-platform-wheel",
        ["sync"],
        USAGE,
        "pip could not build the environment: pip._internal.metadata",
        config='[tool.sparkpush.artifacts]\nwheels = ["dist/*.whl"]\n',
        setup=platform_wheel,
    ),
    # --- the Python environment: pip only with checked input, failures on one line --------
    Case(
        "env-no-such-package",
        ["sync"],
        USAGE,
        "sparkpush-no-such-package is not on the package index (https://pypi.org/simple",
        config=ENV + 'requirements = ["sparkpush-no-such-package==1.0"]\n',
    ),
    Case(
        "env-package-not-on-the-local-index",
        ["sync"],
        USAGE,
        "sparkpush-nosuchpkg is not on the package index (/",
        config=ENV + 'requirements = ["sparkpush-nosuchpkg"]\n',
        setup=local_index,
        env=LOCAL_INDEX_ENV,
    ),
    Case(
        "env-no-version-matches",
        ["sync"],
        USAGE,
        "/project/links, which has 1.1, 1.0)",
        config=ENV + 'requirements = ["sparkpush-goodpkg==9.9"]\n',
        setup=local_index,
        env=LOCAL_INDEX_ENV,
    ),
    Case(
        "env-only-a-source-distribution",
        ["sync"],
        USAGE,
        "sparkpush-sdistonly==0.6.2 has no wheel for the workers (",
        config=ENV + 'requirements = ["sparkpush-sdistonly==0.6.2"]\n',
        setup=local_index,
        env=LOCAL_INDEX_ENV,
    ),
    Case(
        "env-offline",
        ["sync"],
        UNREACHABLE,
        "(the package index could not be reached)",
        config=ENV + 'requirements = ["msgpack"]\n',
        env={
            "PIP_INDEX_URL": "http://127.0.0.1:{free}/simple",
            "PIP_RETRIES": "1",
            "PIP_TIMEOUT": "5",
        },
    ),
    Case(
        "env-pip-target",
        ["sync"],
        USAGE,
        "environment.pip_args: '--target' is not allowed",
        config=ENV + 'requirements = ["msgpack"]\npip_args = ["--target", "{root}/../x"]\n',
    ),
    Case(
        "env-pip-index-untrusted",
        ["sync"],
        USAGE,
        "sets pip_args (not trusted)",
        config=ENV + 'requirements = ["x"]\npip_args = ["-i", "https://evil.example/simple"]\n',
    ),
    Case(
        "env-requirements-outside",
        ["sync"],
        USAGE,
        "environment.requirements_files: /etc/passwd",
        config=ENV + 'requirements_files = ["/etc/passwd"]\n',
    ),
    Case(
        "env-requirements-option",
        ["submit", APP],
        USAGE,
        "req.txt:1: pip options are not read from requirements files (--index-url)",
        config=ENV + 'requirements_files = ["req.txt"]\n',
        setup=write("req.txt", "--index-url http://evil.example/simple\nmsgpack\n"),
    ),
    Case(
        "env-direct-reference",
        ["sync"],
        USAGE,
        "is a direct reference",
        config=ENV + 'requirements = ["x @ file:///home/you/.ssh/id_rsa"]\n',
    ),
    Case("flag-conf", ["submit", "--conf", "novalue", APP], USAGE, "is not key=value"),
    Case("flag-timeout", ["submit", "--timeout", "-1", APP], USAGE, "--timeout must be"),
    Case("flag-unknown", ["submit", "--no-such-flag", APP], USAGE, "No such option"),
    # --- UDF modules that fail in every way (each loads in its own process) -----------------
    *[
        Case(
            f"udf-{name}",
            ["sync"],
            USAGE,
            message,
            config=UDF_CONFIG,
            setup=None if body is None else write("udfs.py", body),
        )
        for name, body, message in [
            ("missing", None, "UDF module udfs.py does not exist"),
            ("raises", "raise RuntimeError('boom')\n", "RuntimeError: boom (while importing)"),
            ("syntax", "def f(:\n", "SyntaxError"),
            ("bad-import", "import nonexistent_mod\n", "No module named 'nonexistent_mod'"),
            ("sys-exit", "import sys\nsys.exit(3)\n", "called sys.exit(3)"),
            ("os-exit", "import os\nos._exit(9)\n", "exit code 9"),
            ("not-utf8", b"\xff = 1\n", "SyntaxError"),
        ]
    ],
    # --- the server, Java and credentials -------------------------------------------------------
    Case(
        "port-in-use",
        ["server", "start", "--port", "{port}"],
        UNREACHABLE,
        "is already in use",
        private_state=True,
    ),
    Case(
        "java-missing",
        ["server", "start", "--port", "{free}"],
        UNREACHABLE,
        "no Java found",
        private_state=True,
        env={"PATH": str(Path(sys.executable).parent), "JAVA_HOME": ""},
    ),
    Case(
        "java-too-old",
        ["server", "start", "--port", "{free}"],
        UNREACHABLE,
        "Java 11 found",
        private_state=True,
        setup=java('openjdk version "11.0.2" 2019-01-15'),
        env={"PATH": "{root}/fakebin:/usr/bin:/bin", "JAVA_HOME": ""},
    ),
    Case(
        "token-refused",
        SUBMIT,
        UNREACHABLE,
        "authentication failed",
        env={"SPARK_REMOTE": "sc://localhost:{port}/;token=not-the-token"},
    ),
    Case(
        "token-missing",
        ["sync", "--remote", "sc://localhost:{port}"],
        UNREACHABLE,
        "authentication failed",
    ),
    Case(
        "server-unreachable",
        ["sync", "--remote", "sc://localhost:{free}"],
        UNREACHABLE,
        "cannot reach Spark Connect server",
    ),
]


REACH_THE_SERVER = {
    "udf-missing",
    "udf-raises",
    "udf-syntax",
    "udf-bad-import",
    "udf-sys-exit",
    "udf-os-exit",
    "udf-not-utf8",
    "port-in-use",
    "token-refused",
    "token-missing",
}
"""Cases that fail only once the server answered (or holds the port)."""

OWN_PROCESS = {"port-in-use", "token-refused"}
"""Cases run as a real `connect` process: `server start` starts servers, `submit` forks its
script process (the others run in this process, checked to leave nothing behind)."""

NEED_THE_PACKAGE_INDEX = {"env-no-such-package"}
"""Cases whose pip asks the package index (the network)."""

CATEGORIES = {
    "toml-": "configuration files",
    "untrusted-": "a repository's config choosing where data and credentials go",
    "url-": "sc:// connection strings",
    "archive-alias-": "paths and artifacts",
    "udf-": "UDF modules",
    "java-": "the server and Java",
    "token-": "credentials",
    "env-": "the Python environment",
}
"""Each category of the corpus, by the prefix of its cases' ids."""


def fill(text: str, server: EmbeddedServer, root: Path, free: int) -> str:
    return (
        text.replace("{port}", str(server.port))
        .replace("{free}", str(free))
        .replace("{root}", str(root))
        .replace("{state}", str(server.state_home))
        .replace("{token}", server.token)
    )


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, marks=pytest.mark.package_index)
        if case.id in NEED_THE_PACKAGE_INDEX
        else case
        for case in CASES
    ],
    ids=str,
)
def test_bad_input_gives_its_exit_code_and_one_line(
    embedded_server: EmbeddedServer, tmp_path: Path, case: Case
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / APP).write_text("print('never runs')\n")
    free = free_port()
    if case.config is not None:
        (root / "pyproject.toml").write_text(fill(case.config, embedded_server, root, free))
    if case.setup is not None:
        case.setup(root)
    if case.private_state:
        env = clean_env(XDG_STATE_HOME=str(tmp_path / "state"))
    else:
        env = embedded_server.env
    for key, value in case.env.items():
        if value:
            env[key] = fill(value, embedded_server, root, free)
        else:
            env.pop(key, None)
    if case.trusted:
        trust_project(root, env)
    args = [fill(arg, embedded_server, root, free) for arg in case.args]
    if case.id in OWN_PROCESS:
        result = run_connect(args, env=env, cwd=root, timeout=120)
    else:
        result = run_connect_in_process(args, env=env, cwd=root)

    assert result.returncode == case.code, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith(("error:", "Error:"))]
    assert len(errors) == 1, result.stderr
    assert case.message in errors[0], result.stderr
    if errors[0].startswith("error:"):
        assert result.stderr.strip() == errors[0], "our errors are the only line on stderr"
    assert "never runs" not in result.stdout
    assert "not-the-token" not in result.stderr + result.stdout
    assert embedded_server.token not in result.stderr + result.stdout


def test_the_corpus_is_large_and_covers_every_category() -> None:
    ids = [case.id for case in CASES]
    assert len(CASES) >= 40
    assert len(set(ids)) == len(CASES)
    assert set(ids) >= REACH_THE_SERVER | OWN_PROCESS | NEED_THE_PACKAGE_INDEX
    empty = [
        name for prefix, name in CATEGORIES.items() if not any(i.startswith(prefix) for i in ids)
    ]
    assert not empty, empty
    assert {case.args[0] for case in CASES} >= {"sync", "submit", "server", "--config"}
    assert {case.code for case in CASES} == {USAGE, UNREACHABLE}
    sources = {
        "config": any(case.config for case in CASES),
        "files": any(case.setup for case in CASES),
        "environment": any(case.env for case in CASES),
        "trusted config": any(case.trusted for case in CASES),
        "own state folder": any(case.private_state for case in CASES),
    }
    assert all(sources.values()), sources
