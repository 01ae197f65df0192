"""`connect doctor`'s checks, as data: each has a name, a verdict, what was seen and the fix.

What it learns about the server comes from `sparkpush.remote.server_facts`, as for a sync: a
fact another command already found for this server (start) is not asked again.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sparkpush.artifacts.collect import collect_artifacts
from sparkpush.artifacts.pack_cache import PackCache
from sparkpush.artifacts.stat_cache import StatCache, stat_cache_path
from sparkpush.config.settings import Config, load_config
from sparkpush.connect.session import Session
from sparkpush.connect.session_release import release
from sparkpush.errors import (
    AuthenticationError,
    JavaNotFoundError,
    ServerUnreachableError,
    SparkpushError,
    UntrustedConfigError,
    UsageError,
)
from sparkpush.packages.server_side import RESTART, extras_mismatch
from sparkpush.packages.spec import Scope, packages_configured
from sparkpush.packages.status import known_packages, packages_problem
from sparkpush.remote.server_facts import ServerFacts
from sparkpush.remote.target import Target, resolve_target
from sparkpush.server.java import MIN_JAVA, find_java
from sparkpush.state.folders import state_dir
from sparkpush.sync.generation import load_generation
from sparkpush.udf.builtin_names import builtin_clashes
from sparkpush.udf.python_version import local_python, version_mismatch

MIN_PYTHON = (3, 10)
MIN_PYSPARK_MAJOR = 4
PROBE_TIMEOUT_S = 5.0


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
        checks.extend([check_trust(config), check_artifacts(config), *check_packages(config)])
    remote_set = bool(remote_flag or env.get("SPARK_REMOTE") or config.remote)
    checks.append(check_java(needed=not remote_set or _packages_need_resolving(checks)))
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


def check_packages(config: Config) -> list[Check]:
    """Per scope with packages: resolved for the current coordinates, jars in the cache."""
    checks = []
    for scope in Scope:
        if not packages_configured(config, scope):
            continue
        name = "packages" if scope is Scope.SESSION else "server packages"
        problem = packages_problem(config, scope)
        if problem is None:
            known = known_packages(config, scope)
            jars = known.entry.jars if known is not None and known.entry is not None else ()
            size = sum(j.size for j in jars)
            checks.append(
                Check(name, True, f"{len(jars)} jar(s), {size:,} bytes, locked and cached")
            )
        else:
            checks.append(Check(name, False, problem, "run 'connect packages resolve'"))
    return checks


def _packages_need_resolving(checks: list[Check]) -> bool:
    return any(c.name.endswith("packages") and not c.ok for c in checks)


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
                "java",
                True,
                f"not usable ({exc.message}); only the embedded server and resolving packages "
                "need it",
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
            facts = ServerFacts(target, client)
            version = facts.spark_version(timeout=PROBE_TIMEOUT_S)
            layers = check_layers(config, facts, client)
            worker_python = check_worker_python(facts)
            udf_names = check_udf_names(config, facts)
            release(client, PROBE_TIMEOUT_S)
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
        worker_python,
        layers,
        udf_names,
        *check_server_settings(config, target),
    ]


def check_server_settings(config: Config, target: Target) -> list[Check]:
    """Whether the running embedded server has the project's server packages and confs."""
    if target.embedded is None:
        return []
    mismatch = extras_mismatch(config, target.embedded.extras)
    if mismatch is None:
        return [Check("server settings", True, "the embedded server runs with this project's")]
    return [Check("server settings", False, mismatch, f"run '{RESTART}'")]


def check_udf_names(config: Config, facts: ServerFacts) -> Check:
    """The project's registered UDFs against the server's builtin function names."""
    generation = load_generation(config.project_root)
    names = [u.name for u in generation.registered_udfs()] if generation is not None else []
    if not names:
        return Check("udf names", True, "no UDFs registered")
    clashes = builtin_clashes(names, facts.builtin_functions())
    if clashes:
        return Check("udf names", False, clashes[0], "rename the UDF (see the warning)")
    return Check("udf names", True, f"{len(names)} UDF(s), none named like a builtin")


def check_layers(config: Config, facts: ServerFacts, client: Session) -> Check:
    """Whether generations are layered here: the server clones a session (CloneSession)."""
    if not config.layers.enabled:
        return Check("layers", True, "off ([tool.sparkpush.layers] enabled = false)")
    try:
        made = facts.clone_or_none(lambda: client.clone_session(timeout=PROBE_TIMEOUT_S))
    except SparkpushError as exc:
        return Check("layers", False, exc.message, "see the server's log")
    if made is None:
        return Check(
            "layers",
            True,
            f"not on this server (Spark {facts.spark_version()} has no CloneSession): each "
            "generation is one session that gets every artifact",
        )
    clone_id, _ = made
    with facts.target.session(clone_id) as clone:
        release(clone, PROBE_TIMEOUT_S)
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


def check_worker_python(facts: ServerFacts) -> Check:
    """The workers' Python (known for this server start, or found by a one-row UDF on a
    throwaway session) must be our minor: UDF pickles only load there."""
    ours = local_python()
    try:
        found = facts.worker_python()
    except SparkpushError as exc:
        return Check("worker python", False, exc.message, "check the server's Python workers (log)")
    detail = f"server workers run Python {found}, here {ours}"
    if version_mismatch(ours, found) is None:
        return Check("worker python", True, detail)
    return Check(
        "worker python",
        False,
        detail,
        f"UDF pickles need the same minor: run here with Python {found} "
        f"(or the server's workers with {ours}, PYSPARK_PYTHON)",
    )


def _not_checked(reason: str) -> list[Check]:
    fix = "fix the check above first"
    return [
        Check(name, False, f"not checked: {reason}", fix)
        for name in ("authentication", "server spark", "worker python", "layers")
    ]


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0
