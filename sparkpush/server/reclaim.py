"""Giving back the embedded server's disk that a released session no longer needs.

On `ReleaseSession` Spark deletes the session's artifact folder (`tmp/artifacts-*/<id>`) but
not the copies made from it: the driver's copy of each file, pyfile and archive (an archive
unpacked), and the copy of each jar an executor fetched for the session's first task, all
under `local/spark-*/userFiles-*/<id>` (on a local cluster also each executor's
`work/app-*/<n>/<id>`). An executor deletes its copy only when its session cache drops the
session; the driver's copy stays until the server stops. `<id>` is the server's own id of the
session, the `server_side_session_id` its release answered with.

Only sparkpush's own releases lead here, with the id the server just said it closed: never a
live session's folder. Nothing outside the scratch folder is touched (no link is followed),
and a folder the JVM deletes or writes meanwhile is no error.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import uuid
from pathlib import Path

log = logging.getLogger(__name__)

SESSION_FOLDERS = ("local/spark-*/userFiles-*", "tmp/artifacts-*", "work/app-*/*")
"""Where, under the scratch folder, the server keeps a folder named after a session."""


def reclaim_session_folders(scratch: Path, server_side_session_id: str) -> int:
    """Delete the folders the server keeps for a session it has released; the bytes freed."""
    if not _is_session_id(server_side_session_id) or not _real_dir(scratch):
        return 0
    root = os.path.realpath(scratch)
    freed = 0
    try:
        for parent in SESSION_FOLDERS:
            for folder in scratch.glob(f"{parent}/{server_side_session_id}"):
                if _safe_to_delete(folder, scratch, root):
                    freed += _delete(folder)
    except OSError as exc:  # the server's own folders changed under us: left for its stop
        log.debug("reclaiming session %s: %s", server_side_session_id, exc)
    if freed:
        log.debug("reclaimed %d bytes of released session %s", freed, server_side_session_id)
    return freed


def _is_session_id(text: str) -> bool:
    """Spark's session ids are UUIDs: nothing else may name a folder we delete."""
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _safe_to_delete(folder: Path, scratch: Path, root: str) -> bool:
    """A real folder of ours, reached from `scratch` through real folders only."""
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return False
    # a link anywhere on the way would make realpath differ from the plain join
    return os.path.realpath(folder) == os.path.join(root, str(folder.relative_to(scratch)))


def _delete(folder: Path) -> int:
    freed = _empty_files(folder)
    # rmtree works through directory descriptors and never follows a link inside
    shutil.rmtree(folder, ignore_errors=True)
    return freed


def _empty_files(folder: Path) -> int:
    """Truncate every file in the tree; the bytes freed.

    Deleting alone does not free the disk while the JVM keeps a file open: an executor's class
    loader keeps the session's jars open until its session cache drops the session (after 100
    more sessions, or 30 minutes). Emptied, they free it now; the loader is never used again,
    its session being closed. A file with another name (a hard link) is left as it is.
    """
    freed = 0
    uid = os.getuid()
    for _current, _dirs, names, dir_fd in os.fwalk(folder, follow_symlinks=False):
        for name in names:
            try:
                fd = os.open(name, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
            except OSError:
                continue  # a link, a socket, or gone meanwhile
            try:
                info = os.fstat(fd)
                if stat.S_ISREG(info.st_mode) and info.st_nlink == 1 and info.st_uid == uid:
                    os.ftruncate(fd, 0)
                    freed += info.st_size
            except OSError:
                continue
            finally:
                os.close(fd)
    return freed
