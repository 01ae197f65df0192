"""The session a run uses: acquired fresh (probe, upload, confs), interrupted, released.

A lease the run does not own (a session someone else prepared) is never released and never
interrupted with ALL, only by the run's own tag.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sparkpush.artifacts.local_artifact import LocalArtifact
from sparkpush.artifacts.upload import UploadReport, upload_artifacts
from sparkpush.connect.session import Session
from sparkpush.errors import ConfigError, ServerError, ServerUnreachableError, SparkpushError
from sparkpush.remote.target import Target
from sparkpush.submit.bounded import CallTimedOut, call_within

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 10.0
CONTROL_CALL_S = 2.0
"""Deadline of each clean-up RPC: exit must follow a timeout or signal within seconds."""
UNRESPONSIVE_CALL_S = 1.0
"""Deadline once a server has failed to answer one clean-up RPC in time."""

_STATIC_CONF_CLASSES = ("CANNOT_MODIFY_STATIC_CONFIG", "CANNOT_MODIFY_CONFIG")
_QUOTED = re.compile(r'"([^"]+)"')


@dataclass
class SessionLease:
    """A session on the server, opened through `client`, and the run's tag."""

    client: Session
    owned: bool
    run_tag: str
    spark_version: str | None = None
    upload: UploadReport = field(default_factory=UploadReport)
    server_unresponsive: bool = False
    """Set when a clean-up call found no answer in time: later ones are cut short."""
    released: bool = False
    """Set once `end_session` released the session on the server."""
    track_process: Callable[[int], None] | None = None
    """Told the script's process id before (or as) it starts, for a session recorded as
    unfinished: it is not released while that process lives on."""

    @property
    def session_id(self) -> str:
        return self.client.session_id


def new_run_tag() -> str:
    """A tag for every operation of one run (Spark forbids ',' and empty tags)."""
    return f"sparkpush-run-{uuid.uuid4().hex}"


def fresh_session(target: Target) -> SessionLease:
    """A lease on a new session id; nothing is sent until `prepare_session`."""
    return SessionLease(client=target.session(), owned=True, run_tag=new_run_tag())


def attached_session(
    target: Target, session_id: str, server_side_session_id: str | None
) -> SessionLease:
    """A lease on a session someone else owns (the project's generation): never released."""
    client = target.session(session_id, server_side_session_id)
    return SessionLease(client=client, owned=False, run_tag=new_run_tag())


def prepare_session(
    lease: SessionLease,
    artifacts: Sequence[LocalArtifact],
    conf: Mapping[str, str],
    on_progress: Callable[[int, int], None] | None = None,
) -> None:
    """Create the session on the server, upload its artifacts and apply its Spark SQL confs."""
    lease.spark_version = lease.client.spark_version(timeout=PROBE_TIMEOUT_S)
    lease.upload = upload_artifacts(lease.client, artifacts, on_progress)
    apply_conf(lease.client, conf)


def apply_conf(client: Session, conf: Mapping[str, str]) -> None:
    """Set session confs; a static conf (one only the server can set) is a ConfigError."""
    try:
        client.set_conf(conf)
    except ServerError as exc:
        if exc.error_class not in _STATIC_CONF_CLASSES:
            raise
        quoted = _QUOTED.search(exc.message)
        key = quoted.group(1) if quoted else "a conf"
        raise ConfigError(
            f"Spark conf {key} cannot be changed by a session (it is a static or "
            f"cluster-wide config); remove it from --conf / [tool.sparkpush.conf] and set it "
            f"where the server is started"
        ) from None


def interrupt_run(lease: SessionLease, seconds: float = CONTROL_CALL_S) -> list[str]:
    """Interrupt the run's operations (by tag; ALL when the session is ours); their ids."""
    if lease.server_unresponsive:
        return []
    interrupted: list[str] = []
    by_tag_worked = False
    try:
        interrupted = _bounded(
            lease, lambda deadline: lease.client.interrupt_tag(lease.run_tag, deadline), seconds
        )
        by_tag_worked = True
    except ServerUnreachableError as exc:
        log.warning("could not interrupt the run's operations: %s", exc.message)
        return []
    except SparkpushError as exc:
        log.info("interrupt by tag failed (%s); trying ALL", exc.message)
    if lease.owned and not (by_tag_worked and interrupted):
        # Operations the script started from other threads carry no tag (tags are per thread).
        try:
            interrupted += _bounded(lease, lease.client.interrupt_all, seconds)
        except SparkpushError as exc:
            log.warning("could not interrupt the session's operations: %s", exc.message)
    return interrupted


def end_session(lease: SessionLease, seconds: float = CONTROL_CALL_S) -> bool:
    """Release the session if the run owns it; whether it was released. Never raises."""
    released = False
    if lease.owned:
        try:
            _bounded(lease, lambda deadline: _release(lease, deadline), seconds)
            released = lease.released = True
        except SparkpushError as exc:
            log.info("could not release session %s: %s", lease.session_id, exc.message)
    try:
        lease.client.close()
    except Exception as exc:  # closing a channel is best effort
        log.debug("closing the channel failed: %s", exc)
    return released


def _release(lease: SessionLease, deadline: float) -> None:
    # Unlike `connect.session_release.release`, this one raises: `_bounded` must see a server
    # that did not answer (to cut the run's later clean-up calls short) and a run that exits
    # on a signal waits CONTROL_CALL_S at most, not the usual release deadline.
    lease.client.release_session(deadline)


def _bounded(
    lease: SessionLease, call: Callable[[float], list[str] | None], seconds: float
) -> list[str]:
    """`call(deadline)` with a hard bound; once the server failed to answer, bounds shrink."""
    deadline = seconds if not lease.server_unresponsive else min(seconds, UNRESPONSIVE_CALL_S)
    try:
        return call_within(lambda: call(deadline), deadline + 0.5) or []
    except CallTimedOut:
        lease.server_unresponsive = True
        raise ServerUnreachableError(f"no answer from the server within {deadline:.0f} s") from None
    except ServerUnreachableError:
        lease.server_unresponsive = True
        raise
