"""The daemon itself: watch, sync, serve the current generation, release retired ones."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from sparkpush.artifacts.ignore import DefaultFilter
from sparkpush.config.settings import Config, load_config
from sparkpush.connect.channel import KeptChannels
from sparkpush.daemon.control_messages import DaemonStatus, GenerationReply
from sparkpush.daemon.leases import LeaseTable
from sparkpush.daemon.session_probe import SessionProbe
from sparkpush.daemon.watch_roots import unwatched_folders, watch_roots
from sparkpush.daemon.watcher import ProjectWatcher
from sparkpush.daemon.worker import SyncWorker
from sparkpush.errors import (
    EmbeddedServerStoppedError,
    ExitCode,
    ServerUnreachableError,
    SparkpushError,
)
from sparkpush.progress.notify import Notify
from sparkpush.progress.phases import mark
from sparkpush.remote.target import Target, resolve_target, target_still_current
from sparkpush.state.project_lock import project_lock
from sparkpush.sync.engine import SyncResult, release_generations, sessions_of
from sparkpush.sync.generation import Generation, load_generation
from sparkpush.sync.process_cache import ProcessCache
from sparkpush.sync.ready_session import ready_session
from sparkpush.sync.summary import SyncSummary
from sparkpush.sync.unfinished import release_unfinished, unfinished_due
from sparkpush.udf.warm_loader import WarmLoader

log = logging.getLogger(__name__)

FLUSH_TIMEOUT_S = 600.0
MARKER_TIMEOUT_S = 0.5
"""How long a flush waits for the watcher's markers before it syncs (walks) instead."""
SERVER_WAIT_POLL_S = 1.0
"""How often a daemon waiting for a stopped embedded server looks at its state file."""
APPLIED_KEPT = 50
"""At most this many syncs wait to be reported in a flush reply's `applied`."""

OnSynced = Callable[[SyncResult], None]


@dataclass
class DaemonState:
    """What `status` reports; updated after every sync."""

    last_sync: SyncSummary | None = None
    last_error: str | None = None
    last_error_exit_code: int | None = None
    server_reachable: bool = True
    waiting_for_server: bool = False
    started_at: float = field(default_factory=time.time)
    applied: list[SyncSummary] = field(default_factory=list)
    """Syncs that changed something, not yet reported in a flush reply."""


class Daemon:
    """One per project; thread-safe entry points for the control server."""

    def __init__(
        self,
        project_root: Path,
        config_file: Path | None = None,
        remote: str | None = None,
        on_synced: OnSynced | None = None,
        on_message: Notify | None = None,
    ) -> None:
        self.project_root = project_root.resolve()
        self.config_file = config_file
        self.remote = remote
        self.on_synced = on_synced
        self.on_message = on_message or (lambda message: log.info("%s", message))
        self.leases = LeaseTable()
        # parsed generation records, stat caches and class trees kept from one sync to the next
        self.reuse = ProcessCache()
        self.state = DaemonState()
        self._lock = threading.Lock()
        self._target: Target | None = None
        self._config: Config | None = None
        self._first_sync = True
        # A server that is not running is started once, for the user's `daemon start` or
        # `watch`; one stopped later stays stopped: the daemon says so and waits.
        self._may_start_server = True
        self._watched_config: tuple[Path, ...] = ()
        self._watch_complete = False
        self.worker = SyncWorker(
            self._sync_once,
            settled=self._settled,
            settle=self._all_reported,
            usable=self._generation_answers,
        )
        self.probe = SessionProbe()
        # one connection to the server from one sync to the next (a sync's own calls)
        self.channels = KeptChannels()
        # PySpark imported once: a UDF edit then costs a fork, not an interpreter start.
        self.loader = WarmLoader()
        self.watcher: ProjectWatcher | None = None

    # -- life ------------------------------------------------------------------------------

    def start(self) -> None:
        config = self._load_config()
        self._restart_watcher(config)
        self.worker.start()
        self.worker.flush(FLUSH_TIMEOUT_S)

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.worker.stop()
        self.loader.close()
        self.probe.close()
        self.channels.close()

    # -- control entry points ----------------------------------------------------------------

    def flush(self) -> GenerationReply:
        """Sync everything saved so far; the generation to use (and the last error, if any)."""
        if self.worker.up_to_date():
            mark("daemon.up_to_date")
            self._release_unfinished()
            return self._reported(self.answer(synced=False))
        mark("daemon.not_up_to_date")
        if not self.worker.flush(FLUSH_TIMEOUT_S):
            return GenerationReply(
                ok=False, error="the daemon is stopping", exit_code=ExitCode.UNREACHABLE
            )
        return self._reported(self.answer())

    def _reported(self, reply: GenerationReply) -> GenerationReply:
        """`reply` with the syncs that changed something since the last flush reply."""
        with self._lock:
            applied, self.state.applied = tuple(self.state.applied), []
        return replace(reply, applied=applied)

    def _release_unfinished(self) -> None:
        """Release what killed runs left recorded (an attached run's clone) also when no
        sync is needed: the project lock keeps a sync from building meanwhile."""
        target = self._target
        if target is None or not unfinished_due(self.project_root):
            return
        try:
            with project_lock(self.project_root):
                generation = load_generation(self.project_root, self.reuse)
                release_unfinished(target, self.project_root, keep=sessions_of(generation))
        except SparkpushError as exc:
            log.warning("could not release what killed runs left: %s", exc.message)

    def answer(self, *, synced: bool = True) -> GenerationReply:
        """The reply to a flush; `synced` False: no sync was needed, so none did anything."""
        generation = load_generation(self.project_root, self.reuse)
        last = self.state.last_sync
        if not synced and last is not None:
            last = last.unchanged()
        reply = GenerationReply(
            ok=False,
            error=self.state.last_error,
            exit_code=self.state.last_error_exit_code,
            last_sync=last,
        )
        if generation is None or self._target is None:
            return reply
        return replace(
            reply,
            ok=True,
            session_id=generation.session_id,
            generation=generation.number,
            server_side_session_id=generation.server_side_session_id,
            remote=self._target.spec.display(),
        )

    def status(self) -> DaemonStatus:
        generation = load_generation(self.project_root, self.reuse)
        return DaemonStatus(
            pid=os.getpid(),
            project=str(self.project_root),
            session_id=generation.session_id if generation else None,
            generation=generation.number if generation else None,
            remote=self._target.spec.display() if self._target else None,
            last_sync=self.state.last_sync,
            last_error=self.state.last_error,
            server_reachable=self.state.server_reachable,
            artifacts=len(generation.entries) if generation else 0,
            udfs=len(generation.udfs.functions) if generation else 0,
            syncs=self.worker.syncs,
            started_at=self.state.started_at,
            leases={s: self.leases.held(s) for s in self.leases.retired_and_held()},
            base_session_id=generation.base.session_id if generation and generation.base else None,
            waiting_for_server=self.state.waiting_for_server,
        )

    def lease_current(self) -> tuple[str, int] | None:
        # Reading the current generation and taking the lease happen under the same lock
        # as retiring a generation, so a lease can never land on a released session.
        with self._lock:
            generation = load_generation(self.project_root, self.reuse)
            if generation is None:
                return None
            return generation.session_id, self.leases.acquire(generation.session_id)

    def end_lease(self, session_id: str, lease: int) -> None:
        free = self.leases.release(session_id, lease)
        if free:
            self._release(free)

    def changed(self, path: Path) -> None:
        log.debug("changed: %s", path)
        if path.resolve() in self._watched_config:
            self.on_message(f"config changed: {path.name}")
        self.worker.mark_dirty()

    # -- the sync ----------------------------------------------------------------------------

    def _sync_once(self) -> bool:
        """One sync; False asks the worker to retry later (server unreachable)."""
        try:
            mark("sync.start")
            config = self._load_config()
            mark("sync.config")
            target = self._resolve_target(config)
            mark("sync.target")
            before = load_generation(self.project_root, self.reuse)
            # Old generations are released by lease accounting, except after a restart,
            # when no lease can exist on what a previous daemon left behind.
            with self.channels.shared():
                result = ready_session(
                    config,
                    target,
                    keep_old=not self._first_sync,
                    loader=self.loader,
                    warm_up=True,
                    reuse=self.reuse,
                )
        except EmbeddedServerStoppedError as exc:
            self.channels.close()
            self._target = None
            self._wait_for_server(exc)
            return False
        except ServerUnreachableError as exc:
            self.channels.close()
            self._target = None  # the embedded server may come back with a new token
            self._record_error(exc)
            self.state.server_reachable = False
            return False
        except SparkpushError as exc:
            self.channels.close()
            self._record_error(exc)
            return True
        mark("sync.ready")
        self._first_sync = False
        self.state.server_reachable = True
        self.state.last_error = None
        self.state.last_error_exit_code = None
        # the summary `connect sync --json` prints, plus when and how long for `status`
        synced = SyncSummary.of(result, at=time.time())
        self.state.last_sync = synced
        log.info("sync: %s", synced.describe())
        if synced.changed:
            with self._lock:
                self.state.applied = [*self.state.applied[-(APPLIED_KEPT - 1) :], synced]
        if before is not None and before.session_id != result.session_id:
            self._retire(before, result.current_generation, target)
        if self.on_synced is not None:
            self.on_synced(result)
        mark("sync.end")
        return True

    def _all_reported(self) -> bool:
        """Every change made so far has been reported by the watcher (False: not known)."""
        watcher = self.watcher
        return watcher is not None and watcher.barrier(MARKER_TIMEOUT_S)

    def _wait_for_server(self, exc: EmbeddedServerStoppedError) -> None:
        """The embedded server is not running: say so once, and look again every second
        (reading its state file costs nothing) until someone starts it."""
        self.state.server_reachable = False
        self.state.last_error = exc.message
        self.state.last_error_exit_code = exc.exit_code
        if not self.state.waiting_for_server:
            self.state.waiting_for_server = True
            self.on_message(
                f"waiting for the embedded server: {exc.message} "
                "(the daemon does not restart a server that was stopped)"
            )
        self.worker.retry_in(SERVER_WAIT_POLL_S)

    def _settled(self) -> bool:
        """No change is on its way: with a current generation that still answers
        (`_generation_answers`), a flush then needs no sync (and no walk of the tree)."""
        watcher = self.watcher
        if watcher is None or self._target is None or not self._watch_complete:
            return False
        return watcher.barrier(MARKER_TIMEOUT_S)

    def _generation_answers(self) -> bool:
        """The current generation's session still answers (one round trip)."""
        target = self._target
        generation = load_generation(self.project_root, self.reuse)
        return (
            target is not None and generation is not None and self.probe.answers(target, generation)
        )

    def _retire(self, before: Generation, after: Generation | None, target: Target) -> None:
        """The previous generation stops being current; release it once no lease holds it,
        and its base, if the new generation has another, once no generation cloned from it
        is left."""
        if before.remote != target.spec.display():
            return
        old_base = before.base.session_id if before.base is not None else None
        new_base = after.base.session_id if after is not None and after.base is not None else None
        with self._lock:
            free = self.leases.retire(before.session_id, cloned_from=old_base)
            if old_base is not None and old_base != new_base:
                free += self.leases.retire(old_base)
        if free:
            self._release(free)

    def _release(self, session_ids: list[str]) -> None:
        config = self._config
        target = self._target
        if config is None or target is None:
            return
        release_generations(config, target, session_ids)
        for session_id in session_ids:
            self.on_message(f"released generation session {session_id}")

    def _record_error(self, exc: SparkpushError) -> None:
        self.state.last_error = exc.message
        self.state.last_error_exit_code = exc.exit_code
        self.on_message(f"error: {exc.message}")

    def _load_config(self) -> Config:
        config = load_config(self.config_file, cwd=self.project_root)
        previous = self._config
        self._config = config
        if previous is not None and previous != config:
            # where to sync may have changed (remote, token, CA, trust): resolve it again,
            # which checks trust again, before anything more is sent
            self._target = None
            if self.watcher is not None:
                self._restart_watcher(config)
        return config

    def _resolve_target(self, config: Config) -> Target:
        if self._target is not None and not target_still_current(self._target):
            self._target = None
            self.channels.close()  # to the server's previous port and token
        if self._target is None:
            start, self._may_start_server = self._may_start_server, False
            self._target = resolve_target(
                config, self.remote, notify=self.on_message, start_embedded=start
            )
            if self.state.waiting_for_server:
                self.state.waiting_for_server = False
                self.on_message(f"the server runs again at {self._target.spec.display()}")
        return self._target

    def _restart_watcher(self, config: Config) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self._watched_config = (config.source.resolve(),) if config.source else ()
        roots = watch_roots(config)
        # a source folder no watch covers leaves every flush to the walk
        self._watch_complete = not unwatched_folders(config, roots)
        self.watcher = ProjectWatcher(
            self.project_root, roots, DefaultFilter(config.artifacts.exclude), self.changed
        )
        self.watcher.start()
