"""Releasing a sync's sessions on the server (their artifacts are deleted with them): many at
once, and clones a cut-off CloneSession may have left the server making. Each release goes
through `connect.session_release.release`."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sparkpush.connect.session import Session
from sparkpush.connect.session_release import Released, release
from sparkpush.errors import (
    CallCancelledError,
    ServerError,
    ServerUnreachableError,
    SparkpushError,
)
from sparkpush.remote.target import Target

log = logging.getLogger(__name__)

_CLOSED = "INVALID_HANDLE.SESSION_CLOSED"


@dataclass(frozen=True)
class ReleaseOutcome:
    released: tuple[str, ...]
    """Released now, or already gone (released or expired before): nothing more to do."""
    unreachable: tuple[str, ...]
    """Not reached, or the call was cut off: still to release, by a later run."""


def release_sessions(
    target: Target, session_ids: Iterable[str], *, settle_s: float | None = None
) -> ReleaseOutcome:
    """Release each session on `target`; those the server could not be reached for are kept.

    `settle_s`: the sessions may be clones a cut-off call left the server making; one the
    server does not hold (yet) is settled (see `settle_and_release`) within that time.
    """
    released: list[str] = []
    unreachable: list[str] = []
    for session_id in session_ids:
        with target.session(session_id) as session:
            outcome = release(session)
            if outcome is Released.NOT_HELD and settle_s is not None:
                outcome = settle_and_release(session, settle_s)
        # the server answered: a session it no longer knows needs nothing more
        (released if outcome.answered else unreachable).append(session_id)
    return ReleaseOutcome(tuple(released), tuple(unreachable))


def settle_and_release(session: Session, timeout: float) -> Released:
    """Release a session that a CloneSession cut off by its deadline may still be making.

    The server builds a clone inside its session map's `computeIfAbsent`: until the copy is
    done a ReleaseSession finds no session, does nothing, and the clone then lives on (until
    the 60-minute idle expiry). A call that may create the session waits for that copy to end
    instead (or, if the clone failed, creates an empty session), so releasing after it leaves
    nothing behind. `session` must not echo a server-side id. Never raises a SparkpushError.
    """
    try:
        session.spark_version(timeout=timeout)
    except (ServerUnreachableError, CallCancelledError) as exc:
        log.info("settling session %s: %s", session.session_id, exc.message)
        return Released.UNREACHABLE
    except SparkpushError as exc:
        if isinstance(exc, ServerError) and exc.error_class == _CLOSED:
            return Released.RELEASED  # released already: the server keeps its tombstone
        log.debug("settling session %s: %s", session.session_id, exc.message)
        return Released.REFUSED
    return release(session)
