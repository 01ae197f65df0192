"""The project's generation held for a test run or a shell, and the sessions opened on it.

`LiveProject.open` syncs first (through the project's daemon when one runs, which then holds
the generation with a lease until `close()`; else in this process), and hands out PySpark
sessions on clones of that generation, so nothing a test or a shell sets (confs, temporary
views, functions) reaches the generation. A server without `CloneSession` (Spark 4.0) gets
the generation itself. `close()` releases every clone and the lease, also after Ctrl-C.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sparkpush.config.settings import Config, load_config
from sparkpush.connect.session_release import release, release_by_id
from sparkpush.daemon.attach import DaemonGeneration, daemon_generation, project_target
from sparkpush.errors import CloneUnsupportedError, SparkpushError, UsageError
from sparkpush.live.pyspark_session import attach_pyspark, close_pyspark
from sparkpush.live.spare import SpareClone, keep_spare, take_spare
from sparkpush.progress.notify import Notify
from sparkpush.remote.target import Target, resolve_target
from sparkpush.submit.local_paths import resolve_here_if_local
from sparkpush.sync.generation import Generation, load_generation
from sparkpush.sync.ready_session import ready_session
from sparkpush.sync.unfinished import (
    UnfinishedSession,
    clone_recorded,
    forget_unfinished,
    record_unfinished,
    release_owned_by,
)

if TYPE_CHECKING:
    from pyspark.sql.connect.session import SparkSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveOptions:
    """How to find the project and its server; `fresh`: an own session, not the generation."""

    remote: str | None = None
    fresh: bool = False
    config_file: Path | None = None
    keep_warm: bool = False
    """Leave a warm clone of the generation for the next run (see `spare`)."""
    worker_output: bool | None = None
    """`--worker-output/--no-worker-output`; None: the config decides."""
    classic: bool = False
    """`connect test`: leave the sessions a suite builds itself classic (see `suite_sessions`)."""
    working_dir: Path | None = None
    """Where relative paths of reads and writes resolve on a server of this machine (as for
    `connect submit`); default: the current directory when the project is opened."""


@dataclass(frozen=True)
class HeldGeneration:
    """The session everything is cloned from; `number` is 0 for a fresh session."""

    session_id: str
    server_side_session_id: str | None
    number: int
    udfs: tuple[str, ...]
    by_daemon: bool
    owned: bool = False
    """A fresh session of ours, released at the end (a generation never is)."""
    revision: Revision | None = None


@dataclass(frozen=True)
class Revision:
    """A generation's number and a digest of what it holds: artifacts added or UDFs registered
    again in place change the digest, not the number (and a clone made before misses them)."""

    generation: int
    digest: str


def revision_of(generation: Generation) -> Revision:
    fingerprints = {name: u.fingerprint for name, u in generation.udfs.functions.items()}
    content = json.dumps(
        [generation.session_id, generation.hashes, fingerprints], sort_keys=True, default=str
    )
    return Revision(generation.number, hashlib.sha256(content.encode()).hexdigest())


@dataclass
class LiveSession:
    """A PySpark session handed out; `cloned` False: it is the held session itself."""

    spark: SparkSession
    session_id: str
    server_side_session_id: str | None
    cloned: bool
    generation: int
    revision: Revision | None = None


@dataclass
class LiveProject:
    config: Config
    target: Target
    notify: Notify
    fresh: bool = False
    held: HeldGeneration | None = None
    clones_supported: bool | None = None
    took_spare: bool = False
    """`session()` handed out a previous run's warm spare clone (see `spare`)."""
    on_attach: list[Callable[[LiveSession], None]] = field(default_factory=list, repr=False)
    """Called with every session handed out (e.g. to follow its worker output)."""
    on_release: list[Callable[[LiveSession], None]] = field(default_factory=list, repr=False)
    owner_pid: int | None = None
    """Another process holds the generation and owns this one's clones (a pytest-xdist
    worker's controller, see `xdist_share`); None: this process."""
    lent_to_workers: bool = False
    """Other processes (pytest-xdist workers) clone the held generation under this one's id."""
    _lease: DaemonGeneration | None = field(default=None, repr=False)
    _open: list[LiveSession] = field(default_factory=list, repr=False)

    @classmethod
    def open(cls, options: LiveOptions, notify: Notify) -> LiveProject:
        """Sync the project and hold its generation (or a fresh session); raises SparkpushError."""
        config = load_config(options.config_file)
        target = project_target(config, options.remote, notify=notify)
        project = cls(config, target, notify, fresh=options.fresh)
        try:
            project.hold()
        except BaseException:
            project.close()
            raise
        project.resolve_relative_paths(options.working_dir)
        return project

    @classmethod
    def adopt(
        cls, options: LiveOptions, held: HeldGeneration, owner_pid: int, remote: str
    ) -> LiveProject:
        """The generation `owner_pid` holds (on `remote`), for sessions of this process: no
        sync, no lease; clones are recorded under the owner, which releases what is left."""
        config = load_config(options.config_file)
        target = resolve_target(config, options.remote)
        project = cls(config, target, lambda _: None, held=held, owner_pid=owner_pid)
        if project.remote != remote:
            raise UsageError(f"the run holds a generation on {remote}, not on {project.remote}")
        project.resolve_relative_paths(options.working_dir)
        return project

    def resolve_relative_paths(self, working_dir: Path | None) -> None:
        """Relative paths of this process's reads and writes resolve in `working_dir` (the
        current directory by default) when the server runs on this machine."""
        resolve_here_if_local(self.target, os.fspath(working_dir or Path.cwd()))

    @property
    def remote(self) -> str:
        return self.target.spec.display()

    def hold(self) -> HeldGeneration:
        """The current generation, synced (read-your-writes); the previous one let go."""
        previous = self._lease
        if self.fresh:
            self.held = self.held or _fresh_session(self.config, self.target, self.notify)
            return self.held
        lease = daemon_generation(self.config.project_root, lease=True)
        try:
            self.held = self._from_daemon(lease) if lease else self._synced_here()
        except BaseException:
            if lease is not None:
                lease.close()
            raise
        self._lease = lease
        if previous is not None and previous is not lease:
            previous.close()
        return self.held

    def _from_daemon(self, lease: DaemonGeneration) -> HeldGeneration:
        # stale code would pass or fail tests for the wrong reason: a broken module stops here
        lease.raise_error()
        daemon_remote = lease.reply.remote
        if daemon_remote and daemon_remote != self.remote:
            raise UsageError(
                f"the project's daemon syncs to {daemon_remote}, not to {self.remote}: "
                "stop it ('connect daemon stop') or drop the remote option"
            )
        return HeldGeneration(
            session_id=lease.session_id,
            server_side_session_id=lease.server_side_session_id,
            number=lease.generation,
            udfs=self._udf_names(),
            by_daemon=True,
            revision=self.current_revision(),
        )

    def _synced_here(self) -> HeldGeneration:
        result = ready_session(self.config, self.target)
        for warning in result.warnings:
            self.notify(f"warning: {warning}")
        generation = result.current_generation
        assert generation is not None
        return HeldGeneration(
            session_id=generation.session_id,
            server_side_session_id=generation.server_side_session_id,
            number=generation.number,
            udfs=self._udf_names(),
            by_daemon=False,
            revision=revision_of(generation),
        )

    def _udf_names(self) -> tuple[str, ...]:
        current = load_generation(self.config.project_root)
        return tuple(u.name for u in current.registered_udfs()) if current is not None else ()

    def current_revision(self) -> Revision | None:
        """What the project's generation record holds now (the daemon may have moved on)."""
        if self.fresh:
            return None
        generation = load_generation(self.config.project_root)
        return revision_of(generation) if generation is not None else None

    # -- sessions -----------------------------------------------------------------------------

    def session(self) -> LiveSession:
        """A clone of the held generation (a previous run's warm spare when it matches), or the
        generation itself where clones are missing."""
        spare = self._take_matching_spare()
        if spare is not None:
            return spare
        try:
            return self.clone()
        except CloneUnsupportedError:
            return self._share_held()

    def _take_matching_spare(self) -> LiveSession | None:
        held = self.held
        if self.fresh or held is None or held.revision is None:
            return None
        spare = take_spare(self.config.project_root)
        if spare is None:
            return None
        matches = (spare.base_session_id, spare.digest, spare.remote) == (
            held.session_id,
            held.revision.digest,
            self.remote,
        )
        if not matches:
            self._release_session(spare.session_id, spare.server_side_session_id)
            return None
        try:
            # echoing its server-side id: an expired or restarted session is an error, not
            # a new empty one
            with self.target.session(spare.session_id, spare.server_side_session_id) as client:
                client.spark_version()
        except SparkpushError:
            return None
        self.clones_supported = True
        # ours now: recorded, so that a run killed while it uses the spare leaves it released
        owner = self.owner_pid if self.owner_pid is not None else os.getpid()
        record_unfinished(
            self.config.project_root,
            UnfinishedSession(self.remote, spare.session_id, pids=(owner,)),
        )
        live = self._attach(spare.session_id, spare.server_side_session_id, cloned=True)
        self.took_spare = True
        return live

    def leave_spare(self, warm: Callable[[SparkSession], None]) -> None:
        """Clone the generation once more, `warm` it (start its Python worker), and record it
        for the next run (see `spare`). Never raises."""
        held = self.held
        # None: nothing cloned here yet (pytest-xdist workers did): the clone below finds out
        if self.fresh or held is None or held.revision is None or self.clones_supported is False:
            return
        try:
            live = self.clone()
        except SparkpushError:
            return
        try:
            warm(live.spark)
        except Exception as exc:  # a warm-up that fails only costs the next run its speed
            log.info("warming the spare clone failed: %s", exc)
            self.release(live)
            return
        self._let_go(live)
        spare = SpareClone(
            live.session_id,
            live.server_side_session_id,
            held.session_id,
            held.revision.digest,
            self.remote,
        )
        if keep_spare(self.config.project_root, spare):
            # the spare outlives this process: the spare file, not unfinished.json, owns it now
            forget_unfinished(self.config.project_root, live.session_id)
        else:
            self._release_session(live.session_id, live.server_side_session_id)

    def clone(self) -> LiveSession:
        """A fresh clone; CloneUnsupportedError on a server without CloneSession."""
        held = self._require_held()
        if self.clones_supported is False:
            raise CloneUnsupportedError("the server has no CloneSession (Spark >= 4.1 has it)")
        with self.target.session(held.session_id, held.server_side_session_id) as base:
            try:
                session_id, server_side = clone_recorded(
                    self.config.project_root, self.target, base, owner_pid=self.owner_pid
                )
            except CloneUnsupportedError:
                self.clones_supported = False
                raise
        self.clones_supported = True
        return self._attach(session_id, server_side, cloned=True)

    def _share_held(self) -> LiveSession:
        held = self._require_held()
        return self._attach(held.session_id, held.server_side_session_id, cloned=False)

    def _attach(self, session_id: str, server_side: str | None, *, cloned: bool) -> LiveSession:
        held = self._require_held()
        try:
            spark = attach_pyspark(self.target, session_id)
        except BaseException:
            if cloned:
                self._release_session(session_id, server_side)
            raise
        live = LiveSession(spark, session_id, server_side, cloned, held.number, held.revision)
        self._open.append(live)
        for hook in self.on_attach:
            hook(live)
        return live

    def release(self, live: LiveSession) -> None:
        """Close the session's client and release it if it is a clone. Never raises."""
        if live not in self._open:
            return  # released already (close() came first)
        self._let_go(live)
        if live.cloned:
            self._release_session(live.session_id, live.server_side_session_id)

    def _let_go(self, live: LiveSession) -> None:
        """No longer hand out or follow `live`; its client closed, the session left as it is."""
        self._open.remove(live)
        for hook in self.on_release:
            hook(live)
        close_pyspark(live.spark)

    def close(self) -> None:
        """Release every clone, a fresh session, and the lease. Never raises."""
        for live in list(self._open):
            self.release(live)
        held, self.held = self.held, None
        # a session another process holds (a pytest-xdist worker's controller) is its to release
        if held is not None and held.owned and self.owner_pid is None:
            self._release_session(held.session_id, held.server_side_session_id)
        lease, self._lease = self._lease, None
        if lease is not None:
            lease.close()
        if self.lent_to_workers:
            self._release_left_by_helpers()

    def _release_left_by_helpers(self) -> None:
        """Clones recorded under this process that are still there: those its pytest-xdist
        workers could not release (see `xdist_share`). Never raises."""
        try:
            released = release_owned_by(self.target, self.config.project_root, os.getpid())
        except (SparkpushError, OSError) as exc:
            log.warning("could not release the clones left by workers: %s", exc)
            return
        if released:
            log.info("released clones left by workers: %s", ", ".join(released))

    def _release_session(self, session_id: str, server_side: str | None) -> None:
        if release_by_id(self.target.session, session_id, server_side).gone:
            forget_unfinished(self.config.project_root, session_id)
        # else left recorded, if it was a clone: the next sync releases it

    def _require_held(self) -> HeldGeneration:
        if self.held is None:
            raise UsageError("the project's generation is not held (closed already)")
        return self.held


def _fresh_session(config: Config, target: Target, notify: Notify) -> HeldGeneration:
    """A new session with the project's artifacts, confs and UDFs, like `submit --fresh`."""
    from sparkpush.submit.from_project import with_project_artifacts
    from sparkpush.submit.run_session import fresh_session, prepare_session
    from sparkpush.submit.runner import SubmitRequest
    from sparkpush.workerout.settings import worker_output_conf

    request = with_project_artifacts(config, target, SubmitRequest(app=None), notify)
    lease = fresh_session(target)
    try:
        prepare_session(
            lease, request.artifacts, {**worker_output_conf(config.worker_output), **config.conf}
        )
        udfs = request.register_udfs(lease.client, None) if request.register_udfs else []
    except BaseException:
        release(lease.client)
        lease.client.close()
        raise
    held = HeldGeneration(
        session_id=lease.session_id,
        server_side_session_id=lease.client.server_side_session_id,
        number=0,
        udfs=tuple(udfs),
        by_daemon=False,
        owned=True,
    )
    lease.client.close()
    return held
