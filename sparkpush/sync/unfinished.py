"""Sessions a sync created that never became current, kept in `.sparkpush/unfinished.json`.

A session is recorded BEFORE it is created, so a run killed at any point leaves it recorded
and the next run releases it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sparkpush.artifacts.manifest import state_dir
from sparkpush.private_files import read_json, write_private_json
from sparkpush.remote import Target
from sparkpush.sync.release import release_sessions

log = logging.getLogger(__name__)

UNFINISHED_FILE = "unfinished.json"


@dataclass(frozen=True)
class UnfinishedSession:
    remote: str
    """The server's URL (never with its token), as `ConnectionSpec.display()` gives it."""
    session_id: str


def unfinished_sessions(root: Path) -> list[UnfinishedSession]:
    """The recorded sessions; entries not written by `record_unfinished` are skipped."""
    document = read_json(state_dir(root) / UNFINISHED_FILE)
    sessions = document.get("sessions") if isinstance(document, dict) else None
    if not isinstance(sessions, list):
        return []
    return [
        UnfinishedSession(remote=s["remote"], session_id=s["session_id"])
        for s in sessions
        if isinstance(s, dict)
        and isinstance(s.get("session_id"), str)
        and isinstance(s.get("remote"), str)
    ]


def save_unfinished(root: Path, sessions: list[UnfinishedSession]) -> None:
    document = {"sessions": [{"remote": s.remote, "session_id": s.session_id} for s in sessions]}
    write_private_json(state_dir(root) / UNFINISHED_FILE, document)


def record_unfinished(root: Path, session: UnfinishedSession) -> None:
    save_unfinished(root, [*unfinished_sessions(root), session])


def forget_unfinished(root: Path, session_id: str) -> None:
    sessions = unfinished_sessions(root)
    remaining = [s for s in sessions if s.session_id != session_id]
    if remaining != sessions:
        save_unfinished(root, remaining)


def release_unfinished(target: Target, root: Path, keep: str | None) -> None:
    """Release the sessions of runs that died before their generation became current.

    `keep` is the current generation's session: a run that died after switching recorded it.
    Another server's sessions, and those not reached now, stay recorded for a later run.
    """
    recorded = unfinished_sessions(root)
    if not recorded:
        return
    sessions = [s for s in recorded if s.session_id != keep]
    here = target.spec.display()
    outcome = release_sessions(target, [s.session_id for s in sessions if s.remote == here])
    if outcome.released:
        log.info("released session(s) of an unfinished sync: %s", ", ".join(outcome.released))
    save_unfinished(
        root, [s for s in sessions if s.remote != here or s.session_id in outcome.unreachable]
    )
