"""Releasing a session on the server: the one way every part of sparkpush does it.

One deadline (`RELEASE_TIMEOUT_S`), one way to treat failures: never raised, logged once here
(a server not reached at info, since the caller keeps the session to release later; an error
the server answered with at debug, since that session needs nothing more as a rule), and told
to the caller as a `Released`, which decides what to keep.
"""

from __future__ import annotations

import logging
from enum import Enum

from sparkpush.connect.session import Session, SessionFactory
from sparkpush.errors import CallCancelledError, ServerUnreachableError, SparkpushError

log = logging.getLogger(__name__)

RELEASE_TIMEOUT_S = 10.0
"""Deadline of a ReleaseSession call (the server deletes the session's artifacts first)."""


class Released(Enum):
    """What became of a release."""

    RELEASED = "released"
    """The server released the session."""
    NOT_HELD = "not_held"
    """The server held no such session: never created, released or expired before, or a
    clone it is still making (see `sync.release.settle_and_release`)."""
    REFUSED = "refused"
    """The server answered with an error (e.g. the session was closed before)."""
    UNREACHABLE = "unreachable"
    """No answer, or the call was cut off: the session may still be there."""

    @property
    def answered(self) -> bool:
        """Whether the server answered: nothing is left to release, unless a clone in the
        making (`NOT_HELD`) matters to the caller."""
        return self is not Released.UNREACHABLE

    @property
    def gone(self) -> bool:
        """Whether the release went through: the server holds no such session now."""
        return self in (Released.RELEASED, Released.NOT_HELD)


def release(session: Session, timeout: float = RELEASE_TIMEOUT_S) -> Released:
    """Release `session` on the server (its artifacts are deleted with it). Never raises a
    SparkpushError; leaves `session` open (its caller closes it)."""
    try:
        held = session.release_session(timeout=timeout)
    except (ServerUnreachableError, CallCancelledError) as exc:
        log.info("release of session %s: %s", session.session_id, exc.message)
        return Released.UNREACHABLE
    except SparkpushError as exc:
        log.debug("release of session %s: %s", session.session_id, exc.message)
        return Released.REFUSED
    return Released.RELEASED if held is not None else Released.NOT_HELD


def release_by_id(
    open_session: SessionFactory,
    session_id: str,
    server_side_session_id: str | None = None,
    timeout: float = RELEASE_TIMEOUT_S,
) -> Released:
    """`release` the session `session_id` (opened, then closed, through `open_session`)."""
    with open_session(session_id, server_side_session_id) as session:
        return release(session, timeout)
