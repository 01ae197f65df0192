"""What a submit takes from the project: its configured artifacts, or its current generation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

from sparkpush.artifacts.artifact_kind import ArtifactKind
from sparkpush.artifacts.local_artifact import LocalArtifact
from sparkpush.artifacts.upload import ProgressCallback
from sparkpush.config.settings import ArtifactSettings, Config
from sparkpush.connect.session import Session
from sparkpush.daemon.attach import daemon_generation, daemon_running
from sparkpush.environment.session_parts import environment_conf
from sparkpush.errors import UsageError
from sparkpush.packages.spec import PackageFlags
from sparkpush.progress.notify import Notify
from sparkpush.remote.server_facts import WORKER_PYTHON, ServerFacts
from sparkpush.remote.target import Target
from sparkpush.submit.run_clone import run_session
from sparkpush.submit.run_session import SessionLease
from sparkpush.submit.runner import SubmitRequest
from sparkpush.sync.ready_session import ready_session
from sparkpush.sync.wanted import collect_project_artifacts
from sparkpush.udf.loading import Loader
from sparkpush.udf.registration import UdfContext, has_udfs, register_udfs_knowing_python


def with_project_artifacts(
    config: Config,
    target: Target,
    request: SubmitRequest,
    notify: Notify,
    packages: PackageFlags | None = None,
) -> SubmitRequest:
    """The request with the project's configured artifacts and UDFs for its fresh session;
    `packages`: submit's --packages, resolved with the project's."""
    desired, warnings = collect_project_artifacts(config, request.artifacts, target, packages)
    for warning in warnings:
        notify(f"warning: {warning}")

    def register(client: Session, loader: Loader | None) -> list[str]:
        facts = ServerFacts(target, client)
        context = UdfContext(config, target, client.session_id, loader=loader)
        registered, worker_python = register_udfs_knowing_python(
            context, facts.known(WORKER_PYTHON)
        )
        if worker_python is not None:
            facts.remember(WORKER_PYTHON, worker_python)
        if registered:
            notify(f"registered {len(registered)} UDF(s): {', '.join(u.name for u in registered)}")
        return [u.name for u in registered]

    artifacts = [d.artifact for d in desired]
    return replace(
        request,
        artifacts=artifacts,
        driver_path=artifacts,
        conf={**environment_conf(d.name for d in desired), **request.conf},
        register_udfs=register if has_udfs(config) else None,
    )


def python_artifacts(config: Config, extra: Sequence[LocalArtifact]) -> list[LocalArtifact]:
    """The project's Python artifacts (packages, pyfiles, pure wheels) and `extra`'s, as the
    generation holds them: collected again from disk, which the sync just matched."""
    settings = config.artifacts
    only_python = ArtifactSettings(
        python=settings.python,
        pyfiles=settings.pyfiles,
        wheels=settings.wheels,
        exclude=settings.exclude,
        allowed_roots=settings.allowed_roots,
    )
    flagged = [a for a in extra if a.kind is ArtifactKind.PYFILE]
    if not (only_python.python or only_python.pyfiles or only_python.wheels):
        return flagged
    desired, _ = collect_project_artifacts(replace(config, artifacts=only_python), flagged)
    return [d.artifact for d in desired]


@dataclass(frozen=True)
class AttachedRun:
    """A leased generation and the request to run on it (its artifacts are already there)."""

    lease: SessionLease
    request: SubmitRequest


@contextmanager
def attach_to_project(
    config: Config,
    target: Target,
    request: SubmitRequest,
    notify: Notify,
    on_progress: ProgressCallback | None,
) -> Iterator[AttachedRun]:
    """Lease the project's current generation, synced first, for the `with` block.

    With the project's daemon running, the daemon syncs and holds the generation for the run
    (released when the block ends or this process dies); otherwise this process syncs. The
    run gets a clone of the generation where the server can clone (see `run_clone`).
    """
    if request.artifacts and daemon_running(config.project_root):
        raise UsageError(
            "the project's daemon serves its generation: put extra artifacts in "
            "[tool.sparkpush.artifacts], or use --fresh for an isolated session"
        )
    # the generation already holds every artifact: nothing more to upload, but the script's
    # own sys.path gets the Python ones
    bare = replace(request, artifacts=(), driver_path=python_artifacts(config, request.artifacts))
    held = daemon_generation(config.project_root, lease=True)
    if held is not None:
        try:
            if held.error:
                notify(f"warning: {held.error} (running on the last good generation)")
            notify(
                f"attached to the daemon's generation {held.generation} (session {held.session_id})"
            )
            with run_session(
                config, target, held.session_id, held.server_side_session_id, notify
            ) as lease:
                yield AttachedRun(lease, bare)
        finally:
            held.close()
        return
    result = ready_session(config, target, extra=request.artifacts, on_progress=on_progress)
    for warning in result.warnings:
        notify(f"warning: {warning}")
    generation = result.current_generation
    assert generation is not None
    notify(f"attached to generation {generation.number} (session {generation.session_id})")
    with run_session(
        config, target, generation.session_id, generation.server_side_session_id, notify
    ) as lease:
        yield AttachedRun(lease, bare)
