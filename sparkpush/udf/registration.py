"""Registering the project's UDFs on a session, and remembering them as a `SessionUdfs`
record (see `sparkpush.udf.registered`), which the sync keeps in the generation record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sparkpush.config.settings import Config
from sparkpush.connect.session_client import default_user_id
from sparkpush.errors import ServerError, UdfLoadError
from sparkpush.progress.phases import mark
from sparkpush.remote.target import Target
from sparkpush.state.folders import state_dir
from sparkpush.udf.fingerprint import java_udf_fingerprint
from sparkpush.udf.loader_messages import LoadedUdf, LoadOutcome, LoadProblem, LoadRequest
from sparkpush.udf.loading import LOG_NAME, Loader, loader_environment, run_loader
from sparkpush.udf.problems import describe_problem
from sparkpush.udf.python_version import check_worker_python, local_python
from sparkpush.udf.registered import RegisteredUdf, SessionUdfs
from sparkpush.udf.udf_kind import UdfKind


@dataclass(frozen=True)
class UdfContext:
    """Where and how a project's UDFs are registered: the project, its server, the session
    (by its ids: with the server's id, a restarted server refuses instead of registering into a
    new, empty session), the loader that imports the modules (None: the usual child process),
    and `warm_up`: check the workers' Python even without UDFs (it starts the session's Python
    workers)."""

    config: Config
    target: Target
    session_id: str
    server_side_session_id: str | None = None
    loader: Loader | None = None
    warm_up: bool = False


def has_udfs(config: Config) -> bool:
    return bool(config.udf_modules or config.java_udfs)


def registered_since(before: SessionUdfs, after: SessionUdfs) -> tuple[str, ...]:
    """Names `after` registered anew: new in its session, or with another fingerprint."""
    if after.session_id is None:
        return ()
    known = {u.name: u.fingerprint for u in before.registered_in(after.session_id)}
    fresh = after.registered_in(after.session_id)
    return tuple(u.name for u in fresh if known.get(u.name) != u.fingerprint)


def registration_needed(
    config: Config, registered: SessionUdfs, session_id: str, *, warm_up: bool = False
) -> bool:
    """False when there is nothing to register nor to forget in session `session_id`."""
    return has_udfs(config) or bool(registered.in_session(session_id).functions) or warm_up


def register_project_udfs(
    context: UdfContext,
    registered: SessionUdfs,
    *,
    generation: int,
    sources: str | None,
    force: bool,
) -> SessionUdfs:
    """Register new and changed UDFs on the context's session (generation number `generation`),
    given what is `registered` there; returns the new record, or `registered` itself when
    nothing was registered.

    `sources` is the digest of the project's Python sources (None: unknown), kept in the
    record: while it is the same, nothing is loaded. `force` registers everything (a
    brand-new generation). `warm_up` checks the workers' Python even with no UDFs configured,
    which starts the session's Python workers. On failure UdfLoadError is raised: the last
    good registration keeps serving.
    """
    config, session_id = context.config, context.session_id
    area = registered.in_session(session_id)
    if not registration_needed(config, registered, session_id, warm_up=context.warm_up):
        return registered
    worker_python = area.worker_python
    # the workers' Python is only checked (and so only known) where there are Python UDFs
    checked = worker_python is not None or not config.udf_modules
    if not force and sources is not None and area.sources == sources and checked:
        return registered  # nothing that could change a UDF changed since it was registered
    known = {} if force else {u.name: u.fingerprint for u in area.registered_in(session_id)}
    types = _python_return_types(area)
    outcome = _load(context, known, worker_python is None, types)
    functions = {
        u.name: RegisteredUdf(
            u.name,
            u.kind,
            u.return_type,
            u.source,
            u.fingerprint,
            _generation_of(area.functions.get(u.name), u.fingerprint, generation, force),
        )
        for u in outcome.udfs
    }
    return SessionUdfs(
        session_id=session_id,
        worker_python=outcome.worker_python or worker_python,
        sources=sources,
        functions=functions,
    )


def _python_return_types(registered: SessionUdfs) -> tuple[str, ...]:
    """The return types of the Python UDFs registered (those the server parses at a load)."""
    kinds = {UdfKind.JAVA.value, UdfKind.UDTF.value}
    return tuple(
        sorted({u.return_type for u in registered.functions.values() if u.kind not in kinds})
    )


def _generation_of(
    old: RegisteredUdf | None, fingerprint: str, generation: int, force: bool
) -> int | None:
    """An unchanged function keeps the generation that registered it."""
    if old is not None and not force and old.fingerprint == fingerprint:
        return old.generation
    return generation


def register_udfs_knowing_python(
    context: UdfContext, worker_python: str | None
) -> tuple[list[RegisteredUdf], str | None]:
    """Register every configured UDF on a session outside the project's generations (a fresh
    `connect submit` session); raises UdfLoadError with one line on failure. With the workers'
    Python already known (the same server answered before), no probe UDF runs. Returns the
    registered UDFs and the workers' Python."""
    if not has_udfs(context.config):
        return [], worker_python
    if worker_python is not None:
        check_worker_python(local_python(), worker_python)
    outcome = _load(context, {}, worker_python is None)
    registered = [
        RegisteredUdf(u.name, u.kind, u.return_type, u.source, u.fingerprint) for u in outcome.udfs
    ]
    return registered, outcome.worker_python or worker_python


def _load(
    context: UdfContext,
    known: Mapping[str, str],
    check_python: bool,
    return_types: tuple[str, ...] = (),
) -> LoadOutcome:
    config, target = context.config, context.target
    if _java_only(config, known):
        return _register_java_here(context, known)
    mark("udf.load_start")
    request = LoadRequest(
        project_root=str(config.project_root),
        modules=tuple(config.udf_modules),
        names=dict(config.udf_names),
        java_udfs={n: (j.class_name, j.returns) for n, j in config.java_udfs.items()},
        known=dict(known),
        check_python=check_python,
        return_types=return_types,
    )
    user_id = target.spec.user_id or default_user_id()
    env = loader_environment(target, context.session_id, user_id)
    mark("udf.env")
    return run_loader(request, env, _log_path(config.project_root), loader=context.loader)


def _java_only(config: Config, known: Mapping[str, str]) -> bool:
    """Only Java UDFs, and none to drop: nothing to import, so no loader process (nor its
    own connection to the server) is needed."""
    return not config.udf_modules and set(known) <= set(config.java_udfs)


def _register_java_here(context: UdfContext, known: Mapping[str, str]) -> LoadOutcome:
    """What the loader child does for Java UDFs, one call each, from this process; with the
    server's id for the session, a restarted server refuses instead of registering them in
    a new, empty session."""
    loaded: list[LoadedUdf] = []
    ids = (context.session_id, context.server_side_session_id)
    with context.target.session(*ids) as session:
        for name, java in context.config.java_udfs.items():
            fingerprint = java_udf_fingerprint(java.class_name, java.returns)
            is_new = known.get(name) != fingerprint
            if is_new:
                try:
                    session.register_java_udf(name, java.class_name, java.returns)
                except ServerError as exc:  # the server's answer; unreachable is no UDF problem
                    reason = exc.message.removeprefix(f"registering {name} failed: ")
                    problem = LoadProblem(kind="java", name=name, message=reason)
                    raise UdfLoadError(describe_problem(problem)) from None
            kind = UdfKind.JAVA.value
            loaded.append(LoadedUdf(name, kind, java.returns, java.class_name, fingerprint, is_new))
    return LoadOutcome(tuple(loaded), None, ())


def _log_path(root: Path) -> Path:
    return state_dir(root) / LOG_NAME
