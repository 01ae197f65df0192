"""Sessions a sync created that never became current, kept in `.sparkpush/unfinished.json`.

A session is recorded BEFORE it is created, so a run killed at any point leaves it recorded
and the next run releases it. That covers a generation's session, a base and a clone. A record
with `pids` belongs to processes that use the session outside the project lock (an attached
run's clone: `connect submit` and its script's process): it is released only once all of them
are gone.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from sparkpush.connect.connection_string import new_session_id
from sparkpush.connect.session import Session
from sparkpush.errors import CloneUnsupportedError, SparkpushError
from sparkpush.remote.target import Target
from sparkpush.state.folders import state_dir
from sparkpush.state.private_files import private_opener, read_json, write_private_json
from sparkpush.sync.clone_cost import CLONE_FLOOR_S, clone_deadline
from sparkpush.sync.clone_room import check_room_for_clone
from sparkpush.sync.generation import load_generation
from sparkpush.sync.release import release_sessions, settle_and_release

log = logging.getLogger(__name__)

UNFINISHED_FILE = "unfinished.json"
UNFINISHED_LOCK = "unfinished.lock"


@dataclass(frozen=True)
class UnfinishedSession:
    remote: str
    """The server's URL (never with its token), as `ConnectionSpec.display()` gives it."""
    session_id: str
    pids: tuple[int, ...] = ()
    """The processes still using the session, if they live on after the sync's lock."""

    def owner_alive(self) -> bool:
        return any(_alive(pid) for pid in self.pids)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process with that pid: not ours to judge
    return not _exited(pid)


def _exited(pid: int) -> bool:
    """A zombie: it has exited and uses nothing, but its parent (or init) has not reaped it
    yet, which may take seconds after a `kill -9`."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # the command name in parentheses may hold spaces: the state follows its closing one
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def unfinished_sessions(root: Path) -> list[UnfinishedSession]:
    """The recorded sessions; entries not written by `record_unfinished` are skipped."""
    document = read_json(state_dir(root) / UNFINISHED_FILE)
    sessions = document.get("sessions") if isinstance(document, dict) else None
    if not isinstance(sessions, list):
        return []
    return [
        UnfinishedSession(remote=s["remote"], session_id=s["session_id"], pids=_pids(s))
        for s in sessions
        if isinstance(s, dict)
        and isinstance(s.get("session_id"), str)
        and isinstance(s.get("remote"), str)
    ]


def _pids(record: dict[str, object]) -> tuple[int, ...]:
    """`pids`, or the single `pid` an older version wrote."""
    found = record.get("pids")
    if not isinstance(found, list):
        found = [record.get("pid")]
    return tuple(p for p in found if isinstance(p, int) and not isinstance(p, bool))


def unfinished_due(root: Path) -> bool:
    """Whether a recorded session's processes are all gone: a sync would release it."""
    return any(not s.owner_alive() for s in unfinished_sessions(root))


def save_unfinished(root: Path, sessions: list[UnfinishedSession]) -> None:
    document = {"sessions": [_to_json(s) for s in sessions]}
    write_private_json(state_dir(root) / UNFINISHED_FILE, document)


def _to_json(session: UnfinishedSession) -> dict[str, object]:
    document: dict[str, object] = {"remote": session.remote, "session_id": session.session_id}
    if session.pids:
        document["pids"] = list(session.pids)
    return document


@contextmanager
def _file_lock(root: Path) -> Iterator[None]:
    """Serialises changes to the file: an attached run records its clone outside the sync's
    lock, which a long build may hold."""
    fd = private_opener(state_dir(root) / UNFINISHED_LOCK, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def record_unfinished(root: Path, session: UnfinishedSession) -> None:
    with _file_lock(root):
        save_unfinished(root, [*unfinished_sessions(root), session])


def forget_unfinished(root: Path, session_id: str) -> None:
    _forget(root, {session_id})


def add_unfinished_owner(root: Path, session_id: str, pid: int) -> None:
    """Another process uses the recorded session (an attached run's script): it is released
    only once that one is gone too."""
    with _file_lock(root):
        sessions = unfinished_sessions(root)
        updated = [
            replace(s, pids=(*s.pids, pid)) if s.session_id == session_id else s for s in sessions
        ]
        if updated != sessions:
            save_unfinished(root, updated)


def _forget(root: Path, session_ids: Collection[str]) -> None:
    with _file_lock(root):
        sessions = unfinished_sessions(root)
        remaining = [s for s in sessions if s.session_id not in session_ids]
        if remaining != sessions:
            save_unfinished(root, remaining)


def release_unfinished(
    target: Target, root: Path, keep: Collection[str], settle_s: float = CLONE_FLOOR_S
) -> None:
    """Release the sessions of runs that died before their generation became current.

    `keep` are the current generation's sessions (it and its base): a run that died after
    switching recorded them. Another server's sessions, those of a process still running and
    those not reached now stay recorded for a later run. A recorded clone the server may still
    be making is waited for up to `settle_s` (its clone's deadline), then released.
    """
    recorded = unfinished_sessions(root)
    if not recorded:
        return
    sessions = [s for s in recorded if s.session_id not in keep]
    here = target.spec.display()
    in_use = {s.session_id for s in sessions if s.owner_alive()}
    due = [s.session_id for s in sessions if s.remote == here and s.session_id not in in_use]
    outcome = release_sessions(target, due, settle_s=settle_s)
    if outcome.released:
        log.info("released session(s) of an unfinished sync: %s", ", ".join(outcome.released))
    # read again: a run may have recorded its clone meanwhile
    _forget(root, {*outcome.released, *(s.session_id for s in recorded if s.session_id in keep)})


def clone_recorded(
    root: Path,
    target: Target,
    source: Session,
    owner_pid: int | None = None,
    timeout: float | None = None,
) -> tuple[str, str]:
    """`CloneSession` of `source`, recorded as unfinished with its owner's process id (this
    process's unless `owner_pid` names another, e.g. the pytest-xdist controller of a worker)
    BEFORE the server creates it: a process killed while it uses the clone leaves the record,
    and the owner's `release_owned_by` or the project's next sync once the owner is gone
    releases the clone. The caller forgets the record after releasing the clone. `timeout`:
    the clone's deadline; by default it follows the size of the project's current generation
    (`source`, as a rule). Raises what `clone_session` raises; a clone the call was cut off
    from is released first."""
    generation = load_generation(root)
    sizes = generation.sizes if generation is not None else {}
    check_room_for_clone(target, sizes)
    if timeout is None:
        timeout = clone_deadline(sizes)
    clone_id = new_session_id()
    owner = owner_pid if owner_pid is not None else os.getpid()
    record_unfinished(root, UnfinishedSession(target.spec.display(), clone_id, pids=(owner,)))
    try:
        return source.clone_session(timeout=timeout, clone_id=clone_id)
    except CloneUnsupportedError:
        forget_unfinished(root, clone_id)  # never created: nothing to release
        raise
    except SparkpushError:
        release_cut_off_clone(root, target, clone_id, timeout)
        raise


def release_cut_off_clone(root: Path, target: Target, clone_id: str, timeout: float) -> bool:
    """Release a clone whose CloneSession call failed (a deadline, a dropped connection):
    the server may still be making it. Forgotten once released; kept recorded (for the next
    sync) when the server does not answer in `timeout`. Whether it was released."""
    with target.session(clone_id) as session:
        outcome = settle_and_release(session, timeout)
    # unlike a batch release, an error the server answered with keeps the record: this clone
    # is known to have been asked for, so only a release that went through lets it go
    if not outcome.gone:
        log.warning("could not release the cut-off clone %s (%s)", clone_id, outcome.value)
        return False
    forget_unfinished(root, clone_id)
    return True


def release_owned_by(target: Target, root: Path, pid: int) -> tuple[str, ...]:
    """Release the sessions recorded under `pid` on `target` and forget them: the clones a
    process's helpers (pytest-xdist workers) made for it and could not release themselves,
    once they are gone. Returns the released ids."""
    here = target.spec.display()
    due = [s.session_id for s in unfinished_sessions(root) if pid in s.pids and s.remote == here]
    if not due:
        return ()
    outcome = release_sessions(target, due)
    _forget(root, outcome.released)
    return outcome.released
