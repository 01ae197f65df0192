"""Releasing sessions on the server (their artifacts are deleted with them)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sparkpush.errors import CallCancelledError, ServerUnreachableError, SparkpushError
from sparkpush.remote.target import Target

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReleaseOutcome:
    released: tuple[str, ...]
    """Released now, or already gone (released or expired before): nothing more to do."""
    unreachable: tuple[str, ...]
    """Not reached, or the call was cut off: still to release, by a later run."""


def release_sessions(target: Target, session_ids: Iterable[str]) -> ReleaseOutcome:
    """Release each session on `target`; those the server could not be reached for are kept."""
    released: list[str] = []
    unreachable: list[str] = []
    for session_id in session_ids:
        session = target.session(session_id)
        try:
            session.release_session()
            released.append(session_id)
        except (ServerUnreachableError, CallCancelledError) as exc:
            log.info("release of %s: %s", session_id, exc.message)
            unreachable.append(session_id)
        except SparkpushError as exc:
            # the server answered: a session it no longer knows needs nothing more
            log.debug("release of %s: %s", session_id, exc.message)
            released.append(session_id)
        finally:
            session.close()
    return ReleaseOutcome(tuple(released), tuple(unreachable))
