"""The project's current session, ready to use: artifacts synced and UDFs registered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sparkpush.artifacts.local_artifact import LocalArtifact
from sparkpush.config.settings import Config
from sparkpush.connect.channel import shared_channels
from sparkpush.connect.session import Session
from sparkpush.progress.notify import ProgressCallback
from sparkpush.progress.phases import mark
from sparkpush.remote.server_facts import ServerFacts
from sparkpush.remote.target import Target
from sparkpush.state.project_lock import project_lock
from sparkpush.sync.engine import SyncResult, sync_project
from sparkpush.sync.generation import Generation, load_generation, save_generation
from sparkpush.sync.process_cache import ProcessCache
from sparkpush.sync.udf_sources import udf_sources_signature
from sparkpush.udf.builtin_names import builtin_clashes
from sparkpush.udf.loading import Loader
from sparkpush.udf.registered import SessionUdfs
from sparkpush.udf.registration import (
    UdfContext,
    has_udfs,
    register_project_udfs,
    registered_since,
    registration_needed,
)


def ready_session(
    config: Config,
    target: Target,
    *,
    keep_old: bool = False,
    on_progress: ProgressCallback | None = None,
    loader: Loader | None = None,
    extra: Sequence[LocalArtifact] = (),
    warm_up: bool = False,
    reuse: ProcessCache | None = None,
) -> SyncResult:
    """Bring the project's current generation up to date; `result.current_generation` describes it.

    A new generation gets every UDF registered before it becomes current; an existing one
    gets its new and changed UDFs registered in place. A UDF module that fails to load
    raises UdfLoadError and the last good registration keeps serving. `reuse`: what a
    long-lived process (the daemon) keeps between syncs; a call without makes its own.
    """
    reuse = reuse if reuse is not None else ProcessCache()
    prepared: list[Generation] = []

    def prepare(_: Session, fresh: Generation) -> Generation:
        fresh = _with_udfs(config, target, fresh, force=True, loader=loader, warm_up=warm_up)
        prepared.append(fresh)
        return fresh

    with shared_channels():  # one connection to the server for the whole sync
        result = sync_project(
            config,
            target,
            extra=extra,
            keep_old=keep_old,
            on_progress=on_progress,
            prepare_generation=prepare,
            reuse=reuse,
        )
        return _registered(config, target, result, bool(prepared), loader, reuse)


def _registered(
    config: Config,
    target: Target,
    result: SyncResult,
    fresh: bool,
    loader: Loader | None,
    reuse: ProcessCache,
) -> SyncResult:
    """`result` with the UDFs registered: those a new generation got before it became current
    (`fresh`), or the new and changed ones registered in place now."""
    mark("sync.artifacts_done")
    if result.current_generation is None:
        return result
    if fresh:
        registered = registered_since(SessionUdfs(), result.current_generation.udfs)
        return _warn_of_builtin_names(replace(result, udfs=registered), target, reuse)
    generation = _register_in_place(config, target, result.current_generation, loader, reuse)
    registered = registered_since(result.current_generation.udfs, generation.udfs)
    return _warn_of_builtin_names(
        replace(result, current_generation=generation, udfs=registered), target, reuse
    )


def _warn_of_builtin_names(result: SyncResult, target: Target, reuse: ProcessCache) -> SyncResult:
    """Registering a UDF named like a builtin succeeds, and the builtin still wins in SQL."""
    generation = result.current_generation
    if not result.udfs or generation is None:
        return result
    clashes = builtin_clashes(result.udfs, _builtin_functions(target, generation, reuse))
    return replace(result, warnings=(*result.warnings, *clashes)) if clashes else result


def _builtin_functions(
    target: Target, generation: Generation, reuse: ProcessCache
) -> frozenset[str] | None:
    """The server's builtin names: as this process listed them for `target`, or asked now."""
    if reuse.builtin_functions is not None and reuse.builtin_functions[0] is target:
        return reuse.builtin_functions[1]
    # asked on the generation's own session: the Spark version that keys the fact costs no
    # session of its own
    with target.session(generation.session_id, generation.server_side_session_id) as session:
        builtins = ServerFacts(target, session).builtin_functions()
    if builtins is not None:
        reuse.builtin_functions = (target, builtins)
    return builtins


def _with_udfs(
    config: Config,
    target: Target,
    generation: Generation,
    *,
    force: bool,
    loader: Loader | None,
    warm_up: bool = False,
) -> Generation:
    """`generation` with its new and changed UDFs registered (itself when none were)."""
    if not registration_needed(config, generation.udfs, generation.session_id, warm_up=warm_up):
        return generation
    context = UdfContext(
        config,
        target,
        generation.session_id,
        generation.server_side_session_id,
        loader=loader,
        warm_up=warm_up,
    )
    udfs = register_project_udfs(
        context,
        generation.udfs,
        generation=generation.number,
        sources=udf_sources_signature(config),
        force=force,
    )
    return generation if udfs is generation.udfs else replace(generation, udfs=udfs)


def _register_in_place(
    config: Config, target: Target, synced: Generation, loader: Loader | None, reuse: ProcessCache
) -> Generation:
    if not has_udfs(config) and not synced.udfs.functions:
        return synced
    with project_lock(config.project_root):
        # another sync may have switched generations since ours returned
        mark("udf.locked")
        current = load_generation(config.project_root, reuse) or synced
        if current.session_id != synced.session_id:
            return current
        updated = _with_udfs(config, target, current, force=False, loader=loader)
        mark("udf.registered")
        if updated is not current:
            save_generation(config.project_root, updated)
        mark("udf.saved")
        return updated
