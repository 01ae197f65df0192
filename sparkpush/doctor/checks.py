"""`connect doctor`'s checks, as data: each has a name, a verdict, what was seen and the fix.

Run as `python -m sparkpush.doctor.checks` it is the worker-Python probe's child: with the session
URL in SPARK_REMOTE and the token in SPARK_CONNECT_AUTHENTICATE_TOKEN it runs a one-row
Python UDF and prints the workers' Python version as JSON.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sparkpush.artifacts.collect import collect_artifacts
from sparkpush.artifacts.pack_cache import PackCache
from sparkpush.artifacts.stat_cache import StatCache, stat_cache_path
from sparkpush.config.settings import Config, load_config
from sparkpush.connect.client_environment import answer_from_a_worker, run_on_new_session
from sparkpush.connect.session import Session
from sparkpush.errors import (
    AuthenticationError,
    CloneUnsupportedError,
    JavaNotFoundError,
    ServerUnreachableError,
    SparkpushError,
    UntrustedConfigError,
    UsageError,
)
from sparkpush.remote.target import Target, resolve_target
from sparkpush.server.java import MIN_JAVA, find_java
from sparkpush.state.folders import state_dir
from sparkpush.sync.clone_support import CloneSupport, client_version, server_key

MIN_PYTHON = (3, 10)
MIN_PYSPARK_MAJOR = 4
PROBE_TIMEOUT_S = 5.0
WORKER_PROBE_TIMEOUT_S = 120.0
_WORKER_MISMATCH = re.compile(r"worker has different version:?\s*\(?(\d+)[.,]\s*(\d+)")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def run_checks(
    config_file: Path | None = None,
    remote_flag: str | None = None,
    env: Mapping[str, str] | None = None,
) -> list[Check]:
    """Every check, in the order a user would fix them."""
    env = os.environ if env is None else env
    checks = [check_python(), check_pyspark()]
    config, config_check = check_config(config_file)
    checks.append(config_check)
    if config_check.ok:
        checks.extend([check_trust(config), check_artifacts(config)])
    remote_set = bool(remote_flag or env.get("SPARK_REMOTE") or config.remote)
    checks.append(check_java(needed=not remote_set))
    checks.extend(check_server(config, remote_flag, env))
    return checks


def check_python() -> Check:
    version = ".".join(str(p) for p in sys.version_info[:3])
    ok = sys.version_info[:2] >= MIN_PYTHON
    return Check(
        "python",
        ok,
        f"Python {version} ({sys.executable})",
        "" if ok else f"use Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer",
    )


def check_pyspark() -> Check:
    fix = "pip install 'pyspark[connect]>=4.0,<5'"
    try:
        import pyspark
    except ImportError:
        return Check("pyspark", False, "pyspark is not installed", fix)
    version = str(pyspark.__version__)
    ok = _major(version) >= MIN_PYSPARK_MAJOR
    return Check("pyspark", ok, f"pyspark {version}", "" if ok else fix)


def check_config(config_file: Path | None) -> tuple[Config, Check]:
    try:
        config = load_config(config_file)
    except SparkpushError as exc:
        check = Check(
            "config", False, exc.message, "fix the file, see [tool.sparkpush] in the README"
        )
        return Config(project_root=Path.cwd()), check
    where = str(config.source) if config.source else "no [tool.sparkpush] found, using defaults"
    return config, Check("config", True, where)


def check_trust(config: Config) -> Check:
    """Whether the project's remote, token_file and ca_file may take effect."""
    keys = config.untrusted_keys
    if keys:
        return Check(
            "trust",
            False,
            f"{config.source} sets {', '.join(keys)} ({config.trust.value})",
            "read them, then run 'connect trust'",
        )
    if config.project_credentials:
        return Check("trust", True, f"{', '.join(config.project_credentials)} trusted")
    return Check("trust", True, "the project's config sets no remote, token_file or ca_file")


def check_artifacts(config: Config) -> Check:
    """What `connect sync` checks before it sends anything: paths, kinds, names, links."""
    root = config.project_root
    try:
        packs = PackCache(state_dir(root) / "packs", read_only=True)
        cache = StatCache.load(stat_cache_path(root))
        collected = collect_artifacts(config.artifacts, root, cache, packs)
        for module in config.udf_modules:
            if not (root / module).is_file():
                raise UsageError(f"udf.modules: UDF module {module} does not exist")
    except SparkpushError as exc:
        return Check("artifacts", False, exc.message, "fix [tool.sparkpush.artifacts] or udf")
    size = sum(a.size for a in collected.artifacts)
    detail = f"{len(collected.artifacts)} artifact(s), {size:,} bytes"
    if collected.warnings:
        detail += f"; warning: {'; '.join(collected.warnings)}"
    return Check("artifacts", True, detail)


def check_java(*, needed: bool) -> Check:
    try:
        java = find_java()
    except JavaNotFoundError as exc:
        if not needed:
            return Check(
                "java", True, f"not usable ({exc.message}); only the embedded server needs it"
            )
        return Check(
            "java",
            False,
            exc.message,
            f"install Java {MIN_JAVA}+ and put it on PATH or in JAVA_HOME",
        )
    return Check("java", True, f"Java {java.major} ({java.java})")


def check_server(config: Config, remote_flag: str | None, env: Mapping[str, str]) -> list[Check]:
    """Reachability, authentication, the server's Spark version and its workers' Python."""
    try:
        target = resolve_target(config, remote_flag, env, start_embedded=False)
    except UntrustedConfigError:
        detail = "not checked: the project's config is not trusted (see trust above)"
        fix = "read the values, then run 'connect trust'"
        return [Check("remote", False, detail, fix), *_not_checked("no usable remote")]
    except SparkpushError as exc:
        fix = (
            "start it with 'connect server start', or set --remote / SPARK_REMOTE / remote"
            if isinstance(exc, ServerUnreachableError)
            else "fix the connection string or token_file"
        )
        return [Check("remote", False, exc.message, fix), *_not_checked("no usable remote")]
    shown = f"{target.spec.endpoint} ({target.source})"
    try:
        with target.session() as client:
            version = client.spark_version(timeout=PROBE_TIMEOUT_S)
            layers = check_layers(config, target, client, version)
            _release_quietly(client)
    except AuthenticationError as exc:
        return [
            Check("remote", True, f"{shown} answers"),
            Check(
                "authentication",
                False,
                exc.message,
                "give the server's token: ;token=... in the URL or token_file in [tool.sparkpush]",
            ),
            *_not_checked("authentication failed")[1:],
        ]
    except SparkpushError as exc:
        fix = (
            "start it with 'connect server start'"
            if target.source == "embedded"
            else "check the host and port, and that the server is running and reachable from here"
        )
        return [Check("remote", False, exc.message, fix), *_not_checked("server unreachable")]
    auth = "token accepted" if target.spec.token is not None else "no token needed"
    return [
        Check("remote", True, f"{shown} answers"),
        Check("authentication", True, auth),
        check_spark_version(version),
        check_worker_python(target),
        layers,
    ]


def check_layers(config: Config, target: Target, client: Session, version: str) -> Check:
    """Whether generations are layered here: the server clones a session (CloneSession)."""
    if not config.layers.enabled:
        return Check("layers", True, "off ([tool.sparkpush.layers] enabled = false)")
    key = server_key(target.spec.display(), version, client_version())
    try:
        clone_id, _ = client.clone_session(timeout=PROBE_TIMEOUT_S)
    except CloneUnsupportedError:
        CloneSupport().remember(key, False)
        return Check(
            "layers",
            True,
            f"not on this server (Spark {version} has no CloneSession): each generation is "
            "one session that gets every artifact",
        )
    except SparkpushError as exc:
        return Check("layers", False, exc.message, "see the server's log")
    with target.session(clone_id) as clone:
        _release_quietly(clone)
    CloneSupport().remember(key, True)
    return Check(
        "layers", True, "on: a code change clones the base session and sends only the code"
    )


def check_spark_version(server_version: str) -> Check:
    import pyspark

    ours = str(pyspark.__version__)
    detail = f"server Spark {server_version}, client pyspark {ours}"
    if _major(server_version) == _major(ours):
        return Check("server spark", True, detail)
    return Check(
        "server spark",
        False,
        detail,
        f"install pyspark {_major(server_version)}.x to match the server",
    )


def check_worker_python(target: Target) -> Check:
    """Run a one-row Python UDF on a throwaway session; its workers must match our minor."""
    ours = sys.version_info[:2]
    found = probe_worker_python(target)
    if isinstance(found, str):
        return Check("worker python", False, found, "check the server's Python workers (log)")
    detail = f"server workers run Python {found[0]}.{found[1]}, here {ours[0]}.{ours[1]}"
    if tuple(found) == ours:
        return Check("worker python", True, detail)
    return Check(
        "worker python",
        False,
        detail,
        f"UDF pickles need the same minor: run here with Python {found[0]}.{found[1]} "
        f"(or the server's workers with {ours[0]}.{ours[1]}, PYSPARK_PYTHON)",
    )


def probe_worker_python(target: Target) -> tuple[int, int] | str:
    """The workers' (major, minor), or why it could not be found."""
    stdout = run_on_new_session(
        target.spec, target.ca_file, "sparkpush.doctor.checks", WORKER_PROBE_TIMEOUT_S
    )
    if stdout is None:
        return f"the probe UDF did not finish within {WORKER_PROBE_TIMEOUT_S:.0f} s"
    return parse_probe_answer(stdout)


def parse_probe_answer(stdout: str) -> tuple[int, int] | str:
    """The probe child's last line: {"version": [3, 11]} or {"error": "..."}."""
    lines = stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else {}
    except ValueError:
        answer = {}
    if "version" in answer:
        major, minor = answer["version"]
        return int(major), int(minor)
    error = str(answer.get("error") or "the probe UDF failed without a message")
    mismatch = _WORKER_MISMATCH.search(error)
    if mismatch:
        return int(mismatch.group(1)), int(mismatch.group(2))
    return error


def _probe_main() -> int:
    """In the probe child: print the workers' Python as {"version": [major, minor]}."""
    return answer_from_a_worker("version", _python_version)


def _python_version() -> list[int]:
    """Run on a worker: its Python's (major, minor)."""
    import sys

    return [sys.version_info[0], sys.version_info[1]]


def _not_checked(reason: str) -> list[Check]:
    fix = "fix the check above first"
    return [
        Check(name, False, f"not checked: {reason}", fix)
        for name in ("authentication", "server spark", "worker python", "layers")
    ]


def _release_quietly(client: Session) -> None:
    with contextlib.suppress(SparkpushError):
        client.release_session(timeout=PROBE_TIMEOUT_S)


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


if __name__ == "__main__":
    sys.stdout.flush()
    code = _probe_main()
    sys.stdout.flush()
    os._exit(code)  # skip teardown: gRPC channels can hang it (see the notes)
